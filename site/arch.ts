// Architecture names as `uname -m`, Debian, Go and Node spell them, folded to the two the
// archive uses (BTFHub's): consumers keep tripping over `aarch64` vs `arm64`.
import type { Arch } from "../archive/kernel-key.ts";

const aliases: Readonly<Record<string, Arch>> = {
  x86_64: "x86_64",
  amd64: "x86_64",
  x64: "x86_64",
  arm64: "arm64",
  aarch64: "arm64",
};

/** When a lookup or pull names an arch: the archive's name for it, or undefined. */
export function normalizeArch(name: string): Arch | undefined {
  return aliases[name.trim().toLowerCase()];
}
