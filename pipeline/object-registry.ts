// The registry of BPF objects the CDN minifies against: every configured object resolved to a
// local file, checked to be a BPF ELF with CO-RE information, and pinned by sha256. A set's
// fingerprint changes exactly when one of its objects does, which is what triggers re-minifying.
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { loadBpfObject, type BpfObject } from "../archive/co-re/index.ts";
import { digestFile, sha256Hex } from "../archive/file-digest.ts";
import { objectCacheDir } from "../archive/layout.ts";
import { writeAtomically } from "../archive/atomic-write.ts";
import type { ObjectSource } from "./config.ts";
import { unionSetName } from "../archive/manifest.ts";
import { ConfigError, IntegrityError } from "../archive/errors.ts";
import { fetchBytes } from "../distros/net/http.ts";

export interface RegisteredObject {
  /** File name as a developer knows it (`tcprtt.bpf.o`). */
  name: string;
  path: string;
  sha256: string;
  parsed: BpfObject;
}

export interface ObjectSet {
  name: string;
  objects: RegisteredObject[];
  fingerprint: string;
}

const maxObjectBytes = 64 * 1024 * 1024;

async function localCopy(source: ObjectSource, archiveRoot: string, signal?: AbortSignal): Promise<string> {
  if ("path" in source) return source.path;
  const cached = join(objectCacheDir(archiveRoot), `${source.sha256}.o`);
  try {
    if ((await digestFile(cached)).sha256 === source.sha256) return cached;
  } catch {
    // Not cached yet.
  }
  const bytes = await fetchBytes(source.url, { maxBytes: maxObjectBytes, signal });
  await mkdir(objectCacheDir(archiveRoot), { recursive: true });
  const sha256 = sha256Hex(bytes);
  if (sha256 !== source.sha256) {
    throw new IntegrityError(`BPF object ${source.url} has sha256 ${sha256}, the config pins ${source.sha256}`, {
      package: source.url,
      hint: "update the pinned sha256 in the config if the object changed on purpose",
    });
  }
  await writeAtomically(cached, (temp) => writeFile(temp, bytes));
  return cached;
}

async function register(
  source: ObjectSource,
  setName: string,
  archiveRoot: string,
  signal?: AbortSignal,
): Promise<RegisteredObject> {
  const where = "path" in source ? source.path : source.url;
  const path = await localCopy(source, archiveRoot, signal);
  const { sha256 } = await digestFile(path).catch((cause: unknown) => {
    throw new ConfigError(`object set "${setName}": cannot read ${where}: ${(cause as Error).message}`, { cause });
  });
  if (source.sha256 !== undefined && source.sha256 !== sha256) {
    throw new IntegrityError(`BPF object ${where} has sha256 ${sha256}, the config pins ${source.sha256}`, {
      package: where,
      hint: "update the pinned sha256 in the config if the object changed on purpose",
    });
  }
  let parsed: BpfObject;
  try {
    parsed = await loadBpfObject(path);
  } catch (cause) {
    throw new ConfigError(`object set "${setName}": ${where} is not usable: ${(cause as Error).message}`, {
      cause,
      hint: "register BPF objects built with clang -target bpf -g (they need .BTF and .BTF.ext)",
    });
  }
  return { name: basename(where), path, sha256, parsed };
}

function fingerprintOf(objects: RegisteredObject[]): string {
  const digests = objects.map((object) => object.sha256).sort();
  return sha256Hex(digests.join("\n"));
}

/**
 * When a run starts with objects configured: the configured sets plus `all`, the union of every
 * object (what the CDN root serves). An empty registry gives no sets: nothing is minified.
 */
export async function loadObjectSets(
  objects: Record<string, ObjectSource[]>,
  archiveRoot: string,
  signal?: AbortSignal,
): Promise<ObjectSet[]> {
  const sets: ObjectSet[] = [];
  const union = new Map<string, RegisteredObject>();
  for (const [name, sources] of Object.entries(objects).sort(([a], [b]) => a.localeCompare(b))) {
    const registered: RegisteredObject[] = [];
    for (const source of sources) registered.push(await register(source, name, archiveRoot, signal));
    for (const object of registered) union.set(object.sha256, object);
    sets.push({ name, objects: registered, fingerprint: fingerprintOf(registered) });
  }
  if (union.size === 0) return [];
  const all = [...union.values()].sort((a, b) => a.sha256.localeCompare(b.sha256));
  return [{ name: unionSetName, objects: all, fingerprint: fingerprintOf(all) }, ...sets];
}
