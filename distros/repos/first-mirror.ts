// Mirrors are asked in order and the first that has what is wanted answers. An unreachable
// mirror is skipped; a bad signature, a stale Release or a cancel stops the search, so a
// tampered mirror is reported rather than papered over by the next one.
import { FetchError } from "../../archive/errors.ts";

export interface MirrorSearch<T> {
  /** What the first mirror that had it answered; undefined when none did. */
  found: T | undefined;
  /** Each mirror asked, by base URL, with why it did not answer (`absent`, or the fetch error). */
  tried: string[];
  /** Some mirror could not be reached: it may have had it. */
  unreachable: boolean;
}

/** When a reader looks for a suite or repository: `read` asked of each mirror until one answers. */
export async function searchMirrors<M, T>(
  mirrors: readonly M[],
  baseOf: (mirror: M) => string,
  read: (mirror: M) => Promise<T | undefined>,
  signal: AbortSignal | undefined,
): Promise<MirrorSearch<T>> {
  const tried: string[] = [];
  let unreachable = false;
  for (const mirror of mirrors) {
    try {
      const found = await read(mirror);
      if (found !== undefined) return { found, tried, unreachable };
      tried.push(`${baseOf(mirror)} (absent)`);
    } catch (error) {
      if (!(error instanceof FetchError) || signal?.aborted) throw error;
      tried.push(`${baseOf(mirror)} (${error.message})`);
      unreachable = true;
    }
  }
  return { found: undefined, tried, unreachable };
}
