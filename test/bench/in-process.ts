// Benchmark: the in-process costs source comments rely on, each the median of --runs=N (default 5)
// on this machine's real inputs.
//
//   node test/bench/in-process.ts [--runs=N] [--btf=FILE]
//
// - BTF opening (archive/btf/lazy.ts, pipeline/minify-pass.ts): a kernel's BTF decoded whole by
//   parseBtf, with and without a name index over every type, against openBtf and the few dozen
//   lookups coverage makes (the first of which hashes every type's name).
// - JSON compression (site/publish-json.ts): gzip -9 and brotli at qualities 11 and 6, in MB/s,
//   on a manifest-like JSON of 1,000 kernels.
// - File checks (site/pull.ts): a thousand 20 KB files already on disk, each read whole and
//   hashed, against each streamed through the hash.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import { openBtf, parseBtf, typesNamedLike } from "../../archive/btf/index.ts";
import type { BtfType } from "../../archive/btf/types.ts";
import { countOption, formatTable } from "./measure.ts";

const args = process.argv.slice(2);
const runs = countOption(args, "runs", 5);
const btfPath = args.find((arg) => arg.startsWith("--btf="))?.slice(6) ?? "/sys/kernel/btf/vmlinux";
const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

// After one run that is not counted: the first pays for compiling the code it runs.
async function medianMs(run: () => unknown): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor((runs - 1) / 2)]!;
}

const rows: string[][] = [["", "median", "note"]];
const row = (label: string, value: string, note = "") => rows.push([label, value, note]);
const ms = (value: number) => `${value.toFixed(1)} ms`;

// The kernel types the test fixtures' BPF objects relocate against, and their usual neighbours.
const lookedUp = [
  "task_struct",
  "sk_buff",
  "sock",
  "sock_common",
  "tcp_sock",
  "inet_sock",
  "file",
  "inode",
  "dentry",
  "path",
  "mm_struct",
  "vm_area_struct",
  "cred",
  "pid",
  "nsproxy",
  "net",
  "net_device",
  "socket",
  "super_block",
  "qstr",
  "list_head",
  "hlist_node",
  "rb_node",
  "kuid_t",
  "pt_regs",
  "bpf_sock_ops",
  "sockaddr",
  "iphdr",
  "tcphdr",
  "page",
  "address_space",
  "signal_struct",
  "files_struct",
  "fs_struct",
];

const btf = await readFile(btfPath);
const count = parseBtf(btf).types.length;
row("parseBtf", ms(await medianMs(() => parseBtf(btf))), `${(btf.length / 1e6).toFixed(1)} MB, ${count} types`);
row(
  "parseBtf + name index",
  ms(
    await medianMs(() => {
      const index = new Map<string, BtfType[]>();
      for (const type of parseBtf(btf).types) {
        const list = index.get(type.name);
        if (list === undefined) index.set(type.name, [type]);
        else list.push(type);
      }
    }),
  ),
);
row("openBtf", ms(await medianMs(() => openBtf(btf))));
row(
  `openBtf + ${lookedUp.length} lookups`,
  ms(
    await medianMs(() => {
      const spec = openBtf(btf);
      for (const name of lookedUp) typesNamedLike(spec, name, name.endsWith("_t") ? "TYPEDEF" : "STRUCT");
    }),
  ),
  "the first lookup of a kind family hashes the names of that family",
);

// Like an archive manifest's entries: paths, versions, digests, timestamps.
const manifestLike = JSON.stringify(
  Object.fromEntries(
    Array.from({ length: 1000 }, (_, i) => {
      const kernel = `6.1.0-${i}-cloud-amd64`;
      const digest = () => randomBytes(32).toString("hex");
      return [
        `debian/12/x86_64/${kernel}`,
        {
          key: { distro: "debian", release: "12", arch: "x86_64", kernel },
          status: "ok",
          btf: { sha256: digest(), size: 5_000_000 + i },
          tarball: { path: `debian/12/x86_64/${kernel}.btf.tar.xz`, sha256: digest(), size: 900_000 + i },
          package: { name: `linux-image-${kernel}-dbg`, version: `6.1.${i}-1`, sha256: digest(), size: 80_000_000 + i },
          minified: { all: { file: { sha256: digest(), size: 20_000 + i } } },
          updatedAt: new Date(1_700_000_000_000 + i * 3_600_000).toISOString(),
        },
      ];
    }),
  ),
  null,
  1,
);
const json = Buffer.from(manifestLike);
const rate = (value: number) => `${(json.length / 1e6 / (value / 1000)).toFixed(1)} MB/s`;
const note = `${(json.length / 1e6).toFixed(1)} MB of JSON`;
row("gzip -9", rate(await medianMs(() => gzipAsync(json, { level: 9 }))), note);
for (const quality of [11, 6]) {
  const time = await medianMs(() =>
    brotliAsync(json, {
      params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: json.length },
    }),
  );
  row(`brotli quality ${quality}`, rate(time), note);
}

const dir = await mkdtemp(join(tmpdir(), "btfmill-bench-files-"));
try {
  const files = Array.from({ length: 1000 }, (_, i) => join(dir, `${i}.btf`));
  for (const file of files) await writeFile(file, randomBytes(20_000));
  row(
    "1,000 files read whole + sha256",
    ms(
      await medianMs(async () => {
        for (const file of files)
          createHash("sha256")
            .update(await readFile(file))
            .digest("hex");
      }),
    ),
    "20 KB each, in the page cache",
  );
  row(
    "1,000 files streamed through sha256",
    ms(
      await medianMs(async () => {
        for (const file of files) {
          const hash = createHash("sha256");
          for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
          hash.digest("hex");
        }
      }),
    ),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

console.log(`${btfPath}, ${runs} runs each\n`);
console.log(formatTable(rows));
