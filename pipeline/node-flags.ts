// V8 flags btfmill runs with (bin/btfmill.js re-executes itself with them; the benchmarks start
// their btfmill processes with them too).
//
// A package streams through the process as some 10,000 Buffers of 64 KiB (the HTTP body, then
// xz's output). Their memory lives outside the V8 heap and is freed only when a scavenge of the
// young generation finds their small JS handles dead; with the default 16 MiB semi-space that
// takes so long that V8 keeps forcing full mark-compacts for the external memory instead. A
// semi-space of 1 MiB lets scavenges free them: fewer mark-compacts, less GC time and a lower peak
// RSS (docs/performance.md, "Measured without a bench").
export const nodeFlags: readonly string[] = ["--max-semi-space-size=1"];
