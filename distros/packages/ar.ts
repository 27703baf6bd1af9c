// Streaming reader of `ar` archives, the container of .deb and .ddeb packages (deb(5)):
//
//   "!<arch>\n"
//   60-byte header: name[16] mtime[12] uid[6] gid[6] mode[8] size[10] "`\n"
//   e.g. "data.tar.xz     1795593066  0     0     100644  281123456 `\n"
//   size bytes of data, then one "\n" when size is odd
//
// Names are padded with spaces; GNU ar also ends them with "/" ("data.tar.xz/"), dpkg-deb does not.
// Members come out one at a time, in order, as streams: nothing is buffered beyond one chunk.
import { Readable } from "node:stream";
import { FormatError } from "../../archive/errors.ts";
import { ByteReader } from "./byte-reader.ts";

const globalHeader = "!<arch>\n";
const headerSize = 60;
const headerEnd = "`\n";

export interface ArMember {
  /** Name without padding or GNU's trailing `/`: `debian-binary`, `data.tar.xz`. */
  name: string;
  size: number;
  /** Offset of the member's first data byte in the archive. */
  offset: number;
  /** The member's bytes; readable until the iteration moves on or stops. */
  body: Readable;
}

export interface ArContext {
  /** Package name or URL, for error messages. */
  package: string;
  /** Size the index vouches for: a member reaching past it is refused before it is read. */
  archiveSize?: number;
}

/** When a package's bytes start arriving: yields its members in order; `source` is left open for the caller. */
export async function* readArMembers(
  source: AsyncIterable<Buffer>,
  context: ArContext,
): AsyncGenerator<ArMember, void, undefined> {
  const reader = new ByteReader(source);
  const magic = await reader.readExactly(globalHeader.length);
  if (magic.toString("latin1") !== globalHeader) {
    throw new FormatError(
      `not an ar archive: it starts with ${JSON.stringify(magic.toString("latin1"))}, not "!<arch>\\n"`,
      {
        package: context.package,
      },
    );
  }
  for (;;) {
    const offset = reader.position;
    const header = await reader.readExactly(headerSize);
    if (header.length === 0) return;
    const { name, size } = parseHeader(header, offset, context);
    const dataOffset = offset + headerSize;
    const end = dataOffset + size + (size % 2);
    if (context.archiveSize !== undefined && end > context.archiveSize) {
      throw new FormatError(
        `ar member ${name} claims ${size} bytes at offset ${dataOffset}, past the package's ${context.archiveSize} bytes`,
        {
          package: context.package,
        },
      );
    }
    const body = new MemberBody(reader, name, size, context.package);
    try {
      yield { name, size, offset: dataOffset, body };
    } finally {
      // Whether the caller moves on or stops, no read of this member may still be in flight.
      body.destroy();
      await body.settled();
    }
    const left = size - body.delivered;
    const skipped = await reader.skip(left + (size % 2));
    if (skipped < left + (size % 2)) {
      throw new FormatError(
        `ar member ${name} is truncated: the archive ends at byte ${reader.position}, the member at byte ${end}`,
        {
          package: context.package,
        },
      );
    }
  }
}

function parseHeader(header: Buffer, offset: number, context: ArContext): { name: string; size: number } {
  const fail = (what: string) =>
    new FormatError(`bad ar member header at byte ${offset}: ${what}`, { package: context.package });
  if (header.length < headerSize) throw fail(`the archive ends after ${header.length} of its ${headerSize} bytes`);
  if (header.toString("latin1", 58, 60) !== headerEnd) throw fail('it does not end with "`\\n"');
  const rawName = header.toString("latin1", 0, 16).trimEnd();
  const name = rawName.length > 1 && rawName.endsWith("/") && rawName !== "//" ? rawName.slice(0, -1) : rawName;
  if (name.length === 0) throw fail("empty member name");
  const sizeField = header.toString("latin1", 48, 58);
  if (!/^\d+ *$/.test(sizeField)) throw fail(`size ${JSON.stringify(sizeField)} is not a decimal number`);
  const size = Number(sizeField.trimEnd());
  if (!Number.isSafeInteger(size)) throw fail(`size ${sizeField.trimEnd()} is out of range`);
  return { name, size };
}

// One member's bytes, pulled from the shared reader on demand; at most one read is in flight,
// so the archive reader knows exactly where the member ends when it moves on.
class MemberBody extends Readable {
  readonly #reader: ByteReader;
  readonly #name: string;
  readonly #size: number;
  readonly #package: string;
  #inFlight: Promise<void> = Promise.resolve();
  delivered = 0;

  constructor(reader: ByteReader, name: string, size: number, pkg: string) {
    super();
    this.#reader = reader;
    this.#name = name;
    this.#size = size;
    this.#package = pkg;
  }

  override _read(): void {
    this.#inFlight = this.#pull();
  }

  /** When the archive reader moves on: resolves once no read of this member is pending. */
  settled(): Promise<void> {
    return this.#inFlight;
  }

  async #pull(): Promise<void> {
    const wanted = this.#size - this.delivered;
    if (wanted === 0) {
      this.push(null);
      return;
    }
    let chunk: Buffer;
    try {
      chunk = await this.#reader.readUpTo(wanted);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (chunk.length === 0) {
      this.destroy(
        new FormatError(
          `ar member ${this.#name} is truncated: the archive ends after ${this.delivered} of its ${this.#size} bytes`,
          {
            package: this.#package,
          },
        ),
      );
      return;
    }
    this.delivered += chunk.length;
    this.push(chunk);
    if (this.delivered === this.#size) this.push(null);
  }
}
