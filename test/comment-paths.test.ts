import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// A comment that names a file of this repository must name one it contains: a cited design note,
// bench or module that was renamed or deleted leaves the reader nowhere to go.
const root = resolve(import.meta.dirname, "..");
// The repository's files from the tree itself, not git: `make test` also runs in a copy without
// .git (CI copies the checkout into a fresh root). What .gitignore keeps out is left out here too:
// dot folders but the two the repository has, installed packages, and the archive and site a run writes.
const generated = new Set(["node_modules", "btf-archive", "btf-site", "archive-out", "work-tmp"]);
const tracked = readdirSync(root, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => relative(root, join(entry.parentPath, entry.name)))
  .filter((path) => {
    const top = path.split("/")[0]!;
    const skipped = (segment: string) =>
      generated.has(segment) || (segment.startsWith(".") && segment !== ".github" && segment !== ".ci");
    return (
      !skipped(top) &&
      !path
        .split("/")
        .slice(1, -1)
        .some((segment) => segment === "node_modules")
    );
  })
  .filter((path) => !path.endsWith(".log"));
const basenames = new Set(tracked.map((path) => basename(path)));

// A repository path (`test/bench/minify.ts`, `docs/cdn.md`, `archive/btf/parse.ts`, or one
// relative to the citing file's folder: `stages/minify.ts`) or a bare file name (`README.md`).
const pathPattern =
  /(?<![\w./<>*{}$-])((?:[\w.-]+\/)*[\w-]+(?:\.[\w-]+)*\.(?:ts|md|json|jsonc|c|go|sh|yml))(?![\w/*<>{}-])/g;
const topFolders = new Set(tracked.filter((path) => path.includes("/")).map((path) => path.split("/")[0]!));

/** The text of every comment of a TypeScript file, by line. */
function typescriptComments(path: string): { line: number; text: string }[] {
  const text = readFileSync(join(root, path), "utf8");
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, false);
  const seen = new Map<number, { line: number; text: string }>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) {
      if (seen.has(range.pos)) continue;
      const line = source.getLineAndCharacterOfPosition(range.pos).line + 1;
      seen.set(range.pos, { line, text: text.slice(range.pos, range.end) });
    }
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(text, node.pos));
    collect(ts.getTrailingCommentRanges(text, node.end));
    ts.forEachChild(node, visit);
  };
  visit(source);
  collect(ts.getLeadingCommentRanges(text, source.endOfFileToken.pos));
  return [...seen.values()];
}

/** The `#` comments of a shell script, Makefile or workflow, by line. */
function hashComments(path: string): { line: number; text: string }[] {
  return readFileSync(join(root, path), "utf8")
    .split("\n")
    .map((text, index) => ({ line: index + 1, text: /(?:^|\s)#(?!!)(.*)$/.exec(text)?.[1] ?? "" }))
    .filter((comment) => comment.text !== "");
}

/** The paths `text` cites that the repository does not hold, as seen from `file`; each checked one goes to `checked`. */
function missingCitations(
  file: string,
  text: string,
  exists: (path: string) => boolean,
  checked: string[] = [],
): string[] {
  const missing: string[] = [];
  for (const match of text.matchAll(pathPattern)) {
    const path = match[1]!;
    // `rpm's docs/manual/format.md` names another project's file.
    if (/'s $/.test(text.slice(0, match.index))) continue;
    if (!path.includes("/")) {
      if (!/\.(ts|md)$/.test(path)) continue;
      checked.push(path);
      if (!basenames.has(path)) missing.push(path);
      continue;
    }
    const fromRoot = exists(path);
    const fromFolder = exists(join(dirname(file), path));
    // A path under none of the repository's folders cites another project (cilium's `btf/ext_info.go`).
    const ours = topFolders.has(path.split("/")[0]!) || fromFolder;
    if (!ours) continue;
    checked.push(path);
    if (!fromRoot && !fromFolder) missing.push(path);
  }
  return missing;
}

const onDisk = (path: string) => existsSync(join(root, path));
const commentedFiles = tracked.filter(
  (path) => /\.ts$/.test(path) || /^(Makefile|\.ci\/run|\.github\/.*\.(ya?ml|sh))$/.test(path),
);

describe("comments that cite files", () => {
  it("finds the citations it checks: a repository path, a path from the citing folder, a bare name", () => {
    expect(missingCitations("pipeline/x.ts", "see test/bench/minify.ts and stages/minify.ts", onDisk)).toEqual([]);
    expect(missingCitations("pipeline/x.ts", "see test/bench/gone.ts, stages/gone.ts, DESIGN.md", onDisk)).toEqual([
      "test/bench/gone.ts",
      "DESIGN.md",
    ]);
    expect(
      missingCitations(
        "pipeline/x.ts",
        "docs/absent.md (cilium's btf/ext_info.go, rpm's docs/manual/format.md)",
        onDisk,
      ),
    ).toEqual(["docs/absent.md"]);
    expect(commentedFiles.length).toBeGreaterThan(100);
  });

  it("cites only files the repository contains", () => {
    const checked: string[] = [];
    const broken = commentedFiles.flatMap((file) =>
      (file.endsWith(".ts") ? typescriptComments(file) : hashComments(file)).flatMap(({ line, text }) =>
        missingCitations(file, text, onDisk, checked).map((path) => `${file}:${line}: ${path}`),
      ),
    );
    expect(broken).toEqual([]);
    // The comments were read: the tree cites its own files dozens of times (Makefile's benches among them).
    expect(checked.length).toBeGreaterThan(50);
    expect(checked).toContain("test/bench/minify.ts");
  });
});
