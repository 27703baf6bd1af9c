import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

// Imports run one way: a folder imports only from the folders after it.
const layers = ["pipeline", "site", "distros", "archive"] as const;
const root = resolve(import.meta.dirname, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|js)$/.test(entry.name))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

/** Every module a file names in `import`, `export ... from` or `import(...)`, resolved to a repository path. */
function relativeImports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const specifiers = [
    ...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm),
  ].map((match) => match[1] ?? match[2] ?? "");
  return specifiers
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => relative(root, resolve(dirname(join(root, file)), specifier)));
}

const layerOf = (path: string): number => layers.indexOf(path.split(sep)[0] as (typeof layers)[number]);
const files = layers.flatMap((layer) => sourceFiles(layer));
const graph = new Map(files.map((file) => [file, relativeImports(file)]));

describe("source layers", () => {
  it("reads the imports of every source folder", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get(join("pipeline", "cli.ts"))?.length).toBeGreaterThan(5);
  });

  it("has no import that runs from a folder to one before it (pipeline -> site -> distros -> archive)", () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => layerOf(target) < layerOf(file)).map((target) => `${file} -> ${target}`),
    );
    expect(upward).toEqual([]);
  });

  it("imports nothing outside the four folders but packages", () => {
    const outside = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => layerOf(target) < 0).map((target) => `${file} -> ${target}`),
    );
    expect(outside).toEqual([]);
  });

  it("has no import circle", () => {
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        circles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
        return;
      }
      state.set(file, "open");
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });
});
