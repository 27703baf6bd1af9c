// The running kernel's BTF, a real 3-8 MB kernel BTF for the tests that need one; machines whose
// kernel was built without CONFIG_DEBUG_INFO_BTF skip those tests.
import { existsSync } from "node:fs";

export const hostKernelBtf = "/sys/kernel/btf/vmlinux";
export const hostHasKernelBtf = existsSync(hostKernelBtf);
