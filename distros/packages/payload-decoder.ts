// Decodes a compressed stream into a consumer that reads only as far as it needs (the end of the
// vmlinux), then stops the decoder and waits until it is gone: a .deb's data.tar member, an .rpm's
// payload after its header, a repository's primary.xml.
import type { Duplex, Readable } from "node:stream";
import { Transform } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import { FormatError } from "../../archive/errors.ts";

// Real vmlinux files are 0.3-1 GB; a header claiming more is broken or hostile, not a kernel.
export const maxVmlinuxBytes = 4 * 1024 ** 3;

// Debian's cloud-amd64-dbg payload decodes 5.9x (318 MB of xz to 1.86 GB of tar), Ubuntu's zstd
// ones about 3.6x; kernel debug info does not compress much better. A payload decoding past 64x
// its compressed size (or past 512 MiB for small packages) is a decompression bomb: decoding it
// would only burn CPU and, were it written, fill the disk.
const maxExpansion = 64;
const minPayloadLimit = 512 * 1024 ** 2;

/** When a payload of `compressedBytes` is decoded: how many decoded bytes it may produce at most. */
export function payloadLimit(compressedBytes: number | undefined): number {
  return Math.max(minPayloadLimit, maxExpansion * (compressedBytes ?? 0));
}

export interface PayloadBound {
  /** Decoded bytes past which decoding stops with a FormatError (payloadLimit). */
  maxBytes: number;
  /** The payload's name in messages (`data.tar.xz`) and its package. */
  name: string;
  package: string;
}

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
  bound?: PayloadBound,
): Promise<DecodedPayload<T>> {
  let payloadBytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      payloadBytes += chunk.length;
      if (bound !== undefined && payloadBytes > bound.maxBytes) {
        callback(
          new FormatError(
            `${bound.name} decodes to more than ${bound.maxBytes} bytes, past any real kernel package: a decompression bomb or a broken payload`,
            {
              package: bound.package,
            },
          ),
        );
        return;
      }
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
