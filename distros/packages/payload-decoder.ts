// Decodes a compressed stream into a consumer that reads only as far as it needs (the end of the
// vmlinux), then stops the decoder and waits until it is gone: a .deb's data.tar member, an .rpm's
// payload after its header, a repository's primary.xml.
import type { Duplex, Readable } from "node:stream";
import { Transform } from "node:stream";
import { finished, pipeline } from "node:stream/promises";

// Real vmlinux files are 0.3-1 GB; a header claiming more is broken or hostile, not a kernel.
export const maxVmlinuxBytes = 4 * 1024 ** 3;

export interface DecodedPayload<T> {
  result: T;
  /** Decoded bytes produced before decoding stopped (the consumer's stopping point, plus buffers). */
  payloadBytes: number;
}

/**
 * When a package's payload is reached: pipes `compressed` through `decoder` into `consume`, and
 * once `consume` settles, stops decoding whatever is left. Errors of the decoder reach `consume`
 * through the stream it reads; corruption the decoder notices late (xz checks a block's CRC at
 * its end) may reach it as garbage first, so what vouches for the bytes is the package's sha256.
 */
export async function decodePayload<T>(
  compressed: Readable,
  decoder: Duplex,
  signal: AbortSignal | undefined,
  consume: (decoded: Readable) => Promise<T>,
): Promise<DecodedPayload<T>> {
  let payloadBytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      payloadBytes += chunk.length;
      callback(null, chunk);
    },
  });
  const decoding = pipeline(compressed, decoder, counted, { signal }).catch(() => {});
  try {
    const result = await consume(counted);
    return { result, payloadBytes };
  } finally {
    decoder.destroy();
    await decoding;
    await finished(decoder).catch(() => {});
  }
}
