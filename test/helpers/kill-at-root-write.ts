// Preloaded into a btfmill command by the crash-safety suite (`node --import`): once the command
// has put a new part of the archive state in place, SIGKILLs its whole process group the moment it
// is about to replace the root (`manifest.json`), the window between part and root writes.
import { createRequire, syncBuiltinESMExports } from "node:module";

const require = createRequire(import.meta.url);
const promises = require("node:fs/promises") as typeof import("node:fs/promises");
const rename = promises.rename;
let partWritten = false;
promises.rename = async (from, to) => {
  const target = String(to);
  if (/\/state\/.+\.json$/.test(target)) partWritten = true;
  else if (partWritten && target.endsWith("/manifest.json")) process.kill(0, "SIGKILL");
  return rename(from, to);
};
// The archive's modules import `rename` by name: their bindings follow the patched export.
syncBuiltinESMExports();
