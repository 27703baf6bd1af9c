// Which members of a debug kernel package are the debug files of the modules a source selects:
// `usr/lib/debug/lib/modules/<kernel>/kernel/**/<name>.ko` in Debian's and Ubuntu's packages,
// `.../<name>.ko.debug` in the RPM ones. Names compare as lsmod prints them: the kernel turns `-`
// into `_` in module names (`nf-nat.ko` loads as `nf_nat`), so both spellings select one module.
// Each module is written as `<dir>/<name>.ko` under its lsmod name, never under a path the
// archive names.
import { join } from "node:path";
import type { ModuleSelection } from "../types.ts";

// A module's debug file is a few MB (xfs's, one of the largest, 25 MB); past this it is no module.
export const maxModuleBytes = 1024 ** 3;

export interface ModuleRequest {
  /** `uname -r` of the kernel whose modules are read. */
  kernel: string;
  select: ModuleSelection;
  /** Existing folder the modules are written into. */
  dir: string;
}

export interface ExtractedModule {
  /** lsmod's name (`nf_conntrack`). */
  name: string;
  /** The written debug file, `<dir>/<name>.ko`. */
  path: string;
  bytes: number;
}

/** When a module name is compared: lsmod's spelling, `-` as `_`. */
export function moduleName(name: string): string {
  return name.replaceAll("-", "_");
}

/** The modules wanted from one package, and those found so far. */
export class ModuleMembers {
  readonly #prefix: string;
  readonly #wanted: Set<string> | undefined;
  readonly #dir: string;
  readonly found = new Map<string, ExtractedModule>();

  constructor(request: ModuleRequest) {
    this.#prefix = `usr/lib/debug/lib/modules/${request.kernel}/kernel/`;
    this.#wanted = request.select === "all" ? undefined : new Set(request.select.map(moduleName));
    this.#dir = request.dir;
  }

  /** When a member's header is read (path normalised): the module's name and output file, or undefined when it is not one wanted. */
  claim(member: string): { name: string; output: string } | undefined {
    if (!member.startsWith(this.#prefix) || member.split("/").includes("..")) return undefined;
    const match = /\/([^/]+)\.ko(?:\.debug)?$/.exec(member);
    if (match === null) return undefined;
    const name = moduleName(match[1]!);
    if (this.found.has(name) || (this.#wanted !== undefined && !this.#wanted.has(name))) return undefined;
    return { name, output: join(this.#dir, `${name}.ko`) };
  }

  /** When a claimed module is written. */
  add(module: ExtractedModule): void {
    this.found.set(module.name, module);
  }

  /** Every selected module is out: nothing past this point of the payload is needed. */
  get complete(): boolean {
    return this.#wanted !== undefined && this.found.size === this.#wanted.size;
  }

  /** The selected names the package lacks (none for "all"). */
  missing(): string[] {
    return this.#wanted === undefined ? [] : [...this.#wanted].filter((name) => !this.found.has(name)).sort();
  }

  /** The modules written, by name. */
  extracted(): ExtractedModule[] {
    return [...this.found.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
