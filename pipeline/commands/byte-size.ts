// Sizes on the command line: a byte count, or one with a unit (`1GB` is 10^9 as GitHub Pages
// counts, `2GiB` is 2^30 x 2 as GitHub's asset limit is stated).
import { ConfigError } from "../../archive/errors.ts";

const units: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
};

/** When an option takes a size: its bytes, undefined when not given, a ConfigError when unreadable. */
export function byteSize(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value.trim());
  const unit = units[(match?.[2] ?? "").toUpperCase()];
  const bytes = match?.[1] === undefined || unit === undefined ? Number.NaN : Math.floor(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new ConfigError(`--${option} must be a size in bytes, such as 1000000, 500MB or 2GiB, not "${value}"`);
  }
  return bytes;
}
