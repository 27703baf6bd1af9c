// The converter toolchain btfmill pins: which Debian suite its packages come from, which packages
// (the tools and their library closure, from the packages' Depends), and the lowest tool versions
// accepted. This is the one place to change when the pinned version moves (docs/toolchain.md).
//
// Debian 13's pahole 1.30 gives the same bytes whatever `-j` is (since 1.29) and speaks
// `--btf_features`; its bpftool 7.5 / libbpf 1.5 read every kind pahole writes. Both run on any
// glibc host through the loader of the libc6 unpacked beside them, Debian 12 included.
import { ConfigError } from "../../archive/errors.ts";

/** The suite on the Debian mirror; its InRelease verifies with debian-archive-keyring. */
export const toolchainSuite = "trixie";

/** Each tool, the package that ships it, and the lowest version btfmill accepts from it. */
export const pinnedTools = {
  pahole: { package: "pahole", binary: "usr/bin/pahole", minimum: { major: 1, minor: 30 } },
  bpftool: { package: "bpftool", binary: "usr/sbin/bpftool", minimum: { major: 7, minor: 5 } },
} as const;

export type PinnedTool = keyof typeof pinnedTools;

// pahole: libbpf1 libc6 libdw1t64 libelf1t64 zlib1g; libdw1t64: libbz2-1.0 liblzma5 libzstd1;
// bpftool: libcap2; libc6: libgcc-s1 (glibc loads libgcc_s to unwind exiting threads: pahole -j).
/** Every package unpacked into the toolchain's root. */
export const toolchainPackages: readonly string[] = [
  "pahole",
  "bpftool",
  "libbpf1",
  "libc6",
  "libgcc-s1",
  "libdw1t64",
  "libelf1t64",
  "zlib1g",
  "liblzma5",
  "libbz2-1.0",
  "libzstd1",
  "libcap2",
];

export interface HostTriplet {
  debArch: string;
  libDir: string;
  loader: string;
}

/** Where a machine's glibc keeps its libraries and loader, per Node's `process.arch`. */
export const hostTriplets: Readonly<Record<string, HostTriplet>> = {
  x64: { debArch: "amd64", libDir: "usr/lib/x86_64-linux-gnu", loader: "ld-linux-x86-64.so.2" },
  arm64: { debArch: "arm64", libDir: "usr/lib/aarch64-linux-gnu", loader: "ld-linux-aarch64.so.1" },
};

/** When the toolchain is installed or started: this machine's triplet; ConfigError on an arch the toolchain has no build for. */
export function pinnedHost(arch: string = process.arch): HostTriplet {
  const host = hostTriplets[arch];
  if (host === undefined) {
    throw new ConfigError(`the pinned toolchain has no build for ${arch}`, {
      hint: "name a host pahole and bpftool in the config's toolchain section",
    });
  }
  return host;
}

/** pahole's first version whose output does not depend on `-j` (before 1.29, `-j` changes the type order run to run). */
export const reproducibleThreadsPahole = { major: 1, minor: 29 };
