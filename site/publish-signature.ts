// Ed25519 over the exact bytes of manifest.json, so a client that trusts the public key can trust
// every sha256 the manifest names, whatever host or cache served the files.
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ConfigError } from "../archive/errors.ts";

/** When publish is given `--key`: reads a PEM Ed25519 private key. */
export async function loadSigningKey(path: string): Promise<KeyObject> {
  let key: KeyObject;
  try {
    key = createPrivateKey(await readFile(path));
  } catch (cause) {
    throw new ConfigError(`--key ${path} is not a readable PEM private key: ${(cause as Error).message}`, {
      cause,
      hint: "make one with: openssl genpkey -algorithm ed25519 -out btfmill-signing.pem",
    });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new ConfigError(`--key ${path} is a ${key.asymmetricKeyType} key; manifests are signed with Ed25519`, {
      hint: "make one with: openssl genpkey -algorithm ed25519 -out btfmill-signing.pem",
    });
  }
  return key;
}

/** When publish signs: the base64 signature and the PEM public key to publish beside it. */
export function signManifest(
  manifestBytes: Uint8Array,
  privateKey: KeyObject,
): { signature: string; publicKeyPem: string } {
  const signature = sign(null, manifestBytes, privateKey).toString("base64");
  const publicKeyPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  return { signature: `${signature}\n`, publicKeyPem };
}

/** When a client (pull, tests) checks a downloaded manifest against a public key it already trusts. */
export function verifyManifest(manifestBytes: Uint8Array, signatureBase64: string, publicKeyPem: string): boolean {
  return verify(null, manifestBytes, createPublicKey(publicKeyPem), Buffer.from(signatureBase64.trim(), "base64"));
}
