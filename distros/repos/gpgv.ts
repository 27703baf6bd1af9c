// gpgv checks signatures against one keyring file and nothing else: no ~/.gnupg, no trust
// database, as apt does (apt-key(8), apt-secure(8)). The verdict comes from gpgv's status lines
// (doc/DETAILS in GnuPG), not its exit code: an InRelease signed by three archive keys exits 2
// when the keyring holds only one of them, yet that one good signature is what apt accepts.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { ConfigError } from "../../archive/errors.ts";
import { runTool, toolFailure } from "../../archive/tools/run-tool.ts";

export interface GpgvVerdict {
  /** At least one good signature from a key in the keyring, and no bad one. */
  valid: boolean;
  /** Fingerprints of the keys that made good signatures. */
  signers: string[];
  /** Status lines that made a signature not count (`BADSIG ...`, `NO_PUBKEY ...`, `EXPKEYSIG ...`). */
  problems: string[];
  /** For a clearsigned input, the signed text only; empty for a detached signature. */
  output: Buffer;
}

const TIMEOUT_MS = 60_000;
const ARMOR = "-----BEGIN PGP";
// Signed indexes are a few MB at most; this bounds what gpgv can hand back.
const MAX_OUTPUT = 256 * 1024 * 1024;

/** When a clearsigned file (InRelease) arrives: checks it and returns the signed text gpgv extracted. */
export async function gpgvClearsigned(document: Buffer, keyring: string, signal?: AbortSignal): Promise<GpgvVerdict> {
  const source = await readKeyring(keyring);
  // A binary keyring (apt's own form) goes to gpgv as it is and the document through stdin: no
  // temp folder to make, write and remove per suite, 200 of them in a run over 200 sources.
  if (source.binary !== undefined) return runGpgv(["--keyring", source.binary, "--output", "-"], signal, document);
  return withScratch(source, (_dir, keyringFile) =>
    runGpgv(["--keyring", keyringFile, "--output", "-"], signal, document),
  );
}

/** When a file comes with a detached signature (Release + Release.gpg): checks the pair. */
export async function gpgvDetached(
  data: Buffer,
  signature: Buffer,
  keyring: string,
  signal?: AbortSignal,
): Promise<GpgvVerdict> {
  return withScratch(await readKeyring(keyring), async (dir, keyringFile) => {
    const dataFile = join(dir, "Release");
    const signatureFile = join(dir, "Release.gpg");
    await writeFile(dataFile, data);
    await writeFile(signatureFile, signature);
    const verdict = await runGpgv(["--keyring", keyringFile, signatureFile, dataFile], signal);
    return { ...verdict, output: Buffer.alloc(0) };
  });
}

/** A keyring as gpgv can take it (a binary file's absolute path), or armored bytes to convert first. */
type KeyringSource = { binary: string; armored?: undefined } | { binary?: undefined; armored: Buffer };

// Runs `fn` in a temp dir holding the keyring in the binary form gpgv reads.
async function withScratch<T>(source: KeyringSource, fn: (dir: string, keyringFile: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "btfmill-gpgv-"));
  try {
    return await fn(dir, source.binary ?? (await dearmor(source.armored, dir)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// `keyring` is a file (binary .gpg or armored .asc) or, as apt's Signed-By allows, an armored
// key block itself. gpgv reads only binary keyrings, so armor is removed with `gpg --dearmor`.
async function readKeyring(keyring: string): Promise<KeyringSource> {
  if (keyring.startsWith(ARMOR)) return { armored: Buffer.from(keyring) };
  let bytes: Buffer;
  try {
    bytes = await readFile(keyring);
  } catch (cause) {
    throw new ConfigError(`keyring ${keyring} cannot be read: ${(cause as Error).message}`, {
      cause,
      hint: "install the distro's archive keyring package, or set `keyring` in the config to a .gpg or .asc file",
    });
  }
  // gpgv resolves a bare file name against ~/.gnupg: always hand it an absolute path.
  if (!bytes.subarray(0, ARMOR.length).toString("latin1").startsWith(ARMOR)) return { binary: resolve(keyring) };
  return { armored: bytes };
}

async function dearmor(armored: Buffer, dir: string): Promise<string> {
  const input = join(dir, "keyring.asc");
  const output = join(dir, "keyring.gpg");
  await writeFile(input, armored);
  // A private homedir: --dearmor needs no keys, and must not create or touch the user's ~/.gnupg.
  await runTool("gpg", ["--homedir", dir, "--batch", "--yes", "--dearmor", "--output", output, input], {
    timeoutMs: TIMEOUT_MS,
    hint: "the keyring is not valid armored OpenPGP: export it again (gpg --export --armor)",
  });
  return output;
}

// `input`, when given, is what gpgv reads on stdin: the signed document when no file is named.
async function runGpgv(args: string[], signal: AbortSignal | undefined, input?: Buffer): Promise<GpgvVerdict> {
  const result = await execa("gpgv", ["--status-fd", "2", ...args], {
    reject: false,
    timeout: TIMEOUT_MS,
    cancelSignal: signal,
    maxBuffer: MAX_OUTPUT,
    ...(input === undefined ? { stdin: "ignore" as const } : { input }),
    encoding: "buffer",
    stripFinalNewline: false,
  });
  const stderr = Buffer.from(result.stderr).toString("utf8");
  // gpgv's exit code is part of its verdict (judge reads the status lines); only a run that did not end on its own fails.
  if (result.exitCode === undefined || result.timedOut || result.isCanceled || result.isMaxBuffer) {
    throw toolFailure(
      "gpgv",
      {
        timedOut: result.timedOut,
        cancelled: result.isCanceled,
        signal: result.signal,
        exitCode: result.exitCode,
        stderr,
        spawnError:
          result.exitCode === undefined &&
          result.signal === undefined &&
          !result.timedOut &&
          !result.isCanceled &&
          !result.isMaxBuffer
            ? result.cause instanceof Error
              ? result.cause.message
              : result.shortMessage
            : undefined,
        overflowBytes: result.isMaxBuffer ? MAX_OUTPUT : undefined,
        cause: result.cause,
      },
      { timeoutMs: TIMEOUT_MS },
    );
  }
  return { ...judge(stderr), output: Buffer.from(result.stdout) };
}

// A signature by an expired or revoked key, or an expired signature, is no signature.
const VOIDING = new Set(["EXPKEYSIG", "REVKEYSIG", "EXPSIG"]);
// A signature that could not be checked (key not in the keyring) or no signature at all.
const UNCHECKED = new Set(["ERRSIG", "NO_PUBKEY", "NODATA"]);

// Each signature starts with NEWSIG; it counts when it has GOODSIG and VALIDSIG and nothing that
// voids it. Any BADSIG voids the whole file: a tampered file can carry one good old signature.
function judge(stderr: string): Omit<GpgvVerdict, "output"> {
  const status = stderr
    .split("\n")
    .filter((line) => line.startsWith("[GNUPG:] "))
    .map((line) => line.slice("[GNUPG:] ".length).trim());
  const signers: string[] = [];
  const problems: string[] = [];
  let bad = false;
  let current: { good: boolean; fingerprint: string | undefined; voided: boolean } | undefined;
  const close = () => {
    if (current?.good && current.fingerprint !== undefined && !current.voided) signers.push(current.fingerprint);
  };
  for (const line of status) {
    const [keyword, ...rest] = line.split(" ");
    if (keyword === "NEWSIG") {
      close();
      current = { good: false, fingerprint: undefined, voided: false };
    } else if (keyword === "GOODSIG" && current) {
      current.good = true;
    } else if (keyword === "VALIDSIG" && current) {
      current.fingerprint = rest[0];
    } else if (keyword === "BADSIG") {
      bad = true;
      problems.push(line);
    } else if (VOIDING.has(keyword ?? "")) {
      if (current) current.voided = true;
      problems.push(line);
    } else if (UNCHECKED.has(keyword ?? "")) {
      problems.push(line);
    }
  }
  close();
  return { valid: signers.length > 0 && !bad, signers, problems };
}
