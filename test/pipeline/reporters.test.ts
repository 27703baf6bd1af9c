// What a run prints when its output is not a terminal: one line per event, saying what happened
// to each kernel and source, and a stage line only when a kernel's stage changes.
import { describe, expect, it } from "vitest";
import type { ManifestEntry, MinifiedRecord } from "../../archive/manifest.ts";
import type { RunEvent } from "../../pipeline/events.ts";
import { describeAbsentSuites, plainReporter } from "../../pipeline/reporters.ts";

const kernel = "debian/12/x86_64/6.1.0-47-cloud-amd64";

function linesOf(events: RunEvent[]): string[] {
  const lines: string[] = [];
  const reporter = plainReporter((line) => lines.push(line));
  for (const event of events) reporter.event(event);
  reporter.close();
  return lines;
}

// Only the fields the reporter reads; the rest of an entry does not reach its lines.
const entry = (fields: Partial<ManifestEntry>) => fields as ManifestEntry;
const coverage = (total: number, unresolved: number) => ({
  object: "tcprtt.bpf.o",
  sha256: "0".repeat(64),
  total,
  resolved: total - unresolved,
  guarded: [],
  unresolved: Array.from({ length: unresolved }, (_, index) => ({
    section: "fentry/tcp_rcv_established",
    index,
    kind: "FIELD_BYTE_OFFSET",
    name: "struct tcp_sock::srtt_us",
    status: "missing" as const,
    why: "no member srtt_us",
  })),
});

describe("plainReporter", () => {
  it("prints a stage line when a kernel's stage changes, with the size when known, and not for progress within it", () => {
    expect(
      linesOf([
        { type: "stage", kernel, stage: "download", totalBytes: 318 * 1048576 },
        { type: "stage", kernel, stage: "download", bytes: 1048576, totalBytes: 318 * 1048576 },
        { type: "stage", kernel, stage: "convert" },
        { type: "stage", kernel: "other", stage: "convert" },
      ]),
    ).toEqual([`download ${kernel} (318.0 MiB)`, `convert ${kernel}`, "convert other"]);
  });

  it("says what each source gave, the suites it read as empty, and a stale source's reason", () => {
    expect(
      linesOf([
        { type: "source", source: "debian/12/x86_64", status: "ok", found: 3, absentSuites: ["bookworm-backports"] },
        { type: "source", source: "ubuntu/22.04/x86_64", status: "stale", reason: "mirror unreachable" },
        { type: "plan", todo: 2, unchanged: 7 },
      ]),
    ).toEqual([
      "source debian/12/x86_64: 3 kernel package(s) found; no mirror carries bookworm-backports, read as empty",
      "source ubuntu/22.04/x86_64: STALE, previous entries kept: mirror unreachable",
      "plan: 2 kernel(s) to process, 7 unchanged",
    ]);
  });

  it("says how each kernel ended: ok with its tarball and BTF size, skipped or failed with the reason", () => {
    expect(
      linesOf([
        {
          type: "done",
          kernel,
          keptPrevious: false,
          entry: entry({
            status: "ok",
            kernelHasBtf: true,
            tarball: { path: `${kernel}.btf.tar.xz`, sha256: "a".repeat(64), size: 1 },
            btf: { sha256: "b".repeat(64), size: 5_500_000 },
          }),
        },
        { type: "done", kernel: "k2", keptPrevious: false, entry: entry({ status: "skipped", reason: "no vmlinux" }) },
        {
          type: "done",
          kernel: "k3",
          keptPrevious: true,
          entry: entry({ status: "failed", reason: "pahole: exited with 1" }),
        },
        { type: "done", kernel: "k4", keptPrevious: false, entry: entry({ status: "failed", reason: "timed out" }) },
      ]),
    ).toEqual([
      `ok ${kernel}: ${kernel}.btf.tar.xz (5500000 bytes BTF, kernel has its own BTF: layouts match)`,
      "skipped k2: no vmlinux",
      "FAILED k3: pahole: exited with 1 (previous ok entry kept)",
      "FAILED k4: timed out",
    ]);
  });

  it("says how many relocations a minified set resolves, pointing to coverage when some do not, or why it failed", () => {
    const record = (fields: Partial<MinifiedRecord>) =>
      ({ fingerprint: "f", coverage: [], ...fields }) as MinifiedRecord;
    expect(
      linesOf([
        {
          type: "minified",
          kernel,
          set: "net",
          record: record({
            file: { path: "minified/ab/ab.btf", sha256: "c".repeat(64), size: 2048 },
            coverage: [coverage(10, 2)],
          }),
        },
        {
          type: "minified",
          kernel,
          set: "all",
          record: record({
            file: { path: "minified/cd/cd.btf", sha256: "d".repeat(64), size: 4096 },
            coverage: [coverage(5, 0)],
          }),
        },
        { type: "minified", kernel, set: "proc", record: record({ error: "bpftool: exited with 255" }) },
      ]),
    ).toEqual([
      `minified ${kernel} for set net: 2048 bytes, 8/10 relocations resolve (2 do not: btfmill coverage)`,
      `minified ${kernel} for set all: 4096 bytes, 5/5 relocations resolve`,
      `FAILED minify ${kernel} for set proc: bpftool: exited with 255`,
    ]);
  });
});

describe("describeAbsentSuites", () => {
  it("names every suite no mirror carries", () => {
    expect(describeAbsentSuites(["bookworm-backports", "bookworm-updates"])).toBe(
      "no mirror carries bookworm-backports, bookworm-updates, read as empty",
    );
  });
});
