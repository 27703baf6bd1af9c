// `btfmill lookup`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec } from "./context.ts";

export const lookupSpec = commandSpec({
  name: "lookup",
  summary: "print the URL of the BTF a host needs, or say why there is none",
  usage: `btfmill lookup [--from URL|DIR] [--os-release FILE] [--kernel R] [--arch A] [--set S] [--public-key PEM] [--json]

  --from URL|DIR     the published site (default: ./btf-site)
  --os-release FILE  the host's os-release (default /etc/os-release; in a container pass the host's)
  --kernel R         uname -r (default: the running kernel)
  --arch A           x86_64/amd64 or arm64/aarch64 (default: this machine's)

Exit 0 when a file is found or the kernel ships its own BTF; 1 when unknown or failed.`,
  options: {
    ...commonOptions,
    from: { type: "string" },
    "os-release": { type: "string" },
    kernel: { type: "string" },
    arch: { type: "string" },
    set: { type: "string" },
    "public-key": { type: "string" },
  },
});
