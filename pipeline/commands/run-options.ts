// `btfmill run`'s options and help.
import { commonOptions } from "./common-options.ts";
import { commandSpec, type Options } from "./context.ts";
import { stateOptions, stateUsage } from "./state-option.ts";

/** What `run` and `plan` both take: which sources, kernels and share of the work. */
export const workSelection = {
  distro: { type: "string" },
  release: { type: "string" },
  arch: { type: "string" },
  flavor: { type: "string" },
  latest: { type: "string" },
  shard: { type: "string" },
  "retry-failed": { type: "boolean" },
  recheck: { type: "boolean" },
} as const satisfies Options;

export const runSpec = commandSpec({
  name: "run",
  summary: "find new debug kernels, convert them to BTF, verify and archive them",
  usage: `btfmill run [--config FILE] [--distro D] [--release R] [--arch A] [--flavor F] [--latest N] [--jobs N] [--retry-failed] [--recheck] [--reconvert] [--shard I/N] [--json]

  --config FILE    config file (default: ./btfmill.json, else built-in defaults:
                   newest Debian 12 cloud-amd64 kernel, archive in ./btf-archive)
  --distro D       only sources of this os-release ID (debian)
  --release R      only sources of this VERSION_ID (12)
  --arch A         only x86_64 or arm64
  --flavor F       only this flavor (cloud-amd64)
  --latest N       only the N newest kernels per flavor
  --jobs N         kernels converted at once (default: config "jobs", 2); above 1, one
                   more kernel downloads meanwhile
  --retry-failed   also retry kernels that failed for a lasting reason
  --recheck        read every source's indexes and state in full, also those settled (unchanged
                   since a full read that left them nothing to do)
  --reconvert      also convert again the kernels another toolchain (pahole version or package)
                   converted; without it they keep their BTF (config: toolchain.reconvert)
  --shard I/N      only the I-th of N deterministic shares of the work (flavor chains), for a CI matrix
${stateUsage}
  --json           print the run summary as JSON on stdout

Exit code 0 only when every kernel and every source succeeded.`,
  options: {
    ...commonOptions,
    ...workSelection,
    ...stateOptions,
    jobs: { type: "string", short: "j" },
    reconvert: { type: "boolean" },
  },
});
