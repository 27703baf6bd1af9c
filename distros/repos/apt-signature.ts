// The signature check of a suite's Release, in the two forms an apt repository publishes it:
// InRelease (clearsigned) and Release + Release.gpg (detached). Only bytes gpgv vouched for
// leave this file: for InRelease that is gpgv's output, never the downloaded text, which may
// carry unsigned lines around the signed part.
import { IntegrityError } from "../../archive/errors.ts";
import { gpgvClearsigned, gpgvDetached } from "./gpgv.ts";
import type { GpgvVerdict } from "./gpgv.ts";

export interface SignedSuite {
  suite: string;
  /** Keyring file, or an armored key block embedded in an apt source's Signed-By. */
  keyring: string;
  /** Where the file came from, for messages. */
  url: string;
}

/** When InRelease was downloaded: returns the signed Release text, or throws IntegrityError. */
export async function verifyInRelease(inRelease: Buffer, from: SignedSuite, signal?: AbortSignal): Promise<string> {
  const verdict = await gpgvClearsigned(inRelease, from.keyring, signal);
  assertValid(verdict, from);
  return verdict.output.toString("utf8");
}

/** When only Release and Release.gpg exist: returns the Release text once the signature holds. */
export async function verifyDetachedRelease(
  release: Buffer,
  signature: Buffer,
  from: SignedSuite,
  signal?: AbortSignal,
): Promise<string> {
  const verdict = await gpgvDetached(release, signature, from.keyring, signal);
  assertValid(verdict, from);
  return release.toString("utf8");
}

// A keyring in messages: its path, or a note for an embedded key block (never the block itself).
function describeKeyring(keyring: string): string {
  return keyring.startsWith("-----BEGIN PGP") ? "the key embedded in the apt source's Signed-By" : keyring;
}

function assertValid(verdict: GpgvVerdict, from: SignedSuite): void {
  if (verdict.valid) return;
  const reason = verdict.problems.length > 0 ? verdict.problems.join("; ") : "no good signature";
  throw new IntegrityError(
    `signature of suite ${from.suite} does not verify with keyring ${describeKeyring(from.keyring)}: ${reason}`,
    {
      package: from.url,
      hint: "if the mirror is right, the keyring is wrong or outdated: set `keyring` in the config to the distro's archive keyring",
    },
  );
}
