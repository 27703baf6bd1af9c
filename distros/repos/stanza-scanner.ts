// Finds the stanzas of deb822 bytes as they arrive (a Packages index as it decodes) and hands
// on, as text, only those whose package name `accept` takes (all of them without `accept`):
// Debian's main index decodes to 50 MB of 63,000 stanzas and a source wants a few dozen. Only
// the stanza in progress is held, and each byte is looked at once, however the pieces are cut.
//
// A stanza ends at a blank line: nothing but spaces, tabs and a CR (the text split
// /\n[ \t]*\r?\n/); a blank first line of the stream ends none. The name line is ASCII, so it is
// looked for in latin1.
import { FormatError } from "../../archive/errors.ts";

const packageLine = /^Package:[ \t]*(\S+)/im;

// Bookworm's largest stanza is 76 KB: a longer one is broken or hostile, and is not held.
const maxStanzaBytes = 1024 * 1024;

/** What the line in progress is so far: spaces and tabs only, those then a CR, or anything else. */
type LineSoFar = "blank" | "blank+cr" | "text";

export class StanzaScanner {
  readonly #accept: ((name: string) => boolean) | undefined;
  readonly #where: string;
  /** The stanza in progress as far as earlier pieces hold it. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #line: LineSoFar = "blank";
  // Offsets in the stream: of the next piece, of the line in progress and of the stanza in progress.
  #offset = 0;
  #lineStart = 0;
  #stanzaStart = 0;

  constructor(accept: ((name: string) => boolean) | undefined, where: string) {
    this.#accept = accept;
    this.#where = where;
  }

  /** When decoded bytes arrive: the accepted stanzas they complete. */
  push(piece: Buffer): string[] {
    const accepted: string[] = [];
    for (let at = 0; at < piece.length; ) {
      const newline = piece.indexOf(10, at);
      const end = newline < 0 ? piece.length : newline;
      this.#line = extendLine(this.#line, piece, at, end);
      if (newline < 0) break;
      if (this.#line !== "text" && this.#lineStart > 0) {
        this.#take(piece, this.#lineStart, accepted);
        this.#stanzaStart = this.#offset + newline + 1;
      }
      this.#line = "blank";
      this.#lineStart = this.#offset + newline + 1;
      at = newline + 1;
    }
    const rest = piece.subarray(Math.max(0, this.#stanzaStart - this.#offset));
    if (rest.length > 0) {
      this.#held.push(rest);
      this.#heldBytes += rest.length;
    }
    this.#offset += piece.length;
    if (this.#heldBytes > maxStanzaBytes) {
      throw new FormatError(`${this.#where}: a stanza runs past ${maxStanzaBytes} bytes`, {
        hint: "the index is broken on the mirror: retry later or use another mirror",
      });
    }
    return accepted;
  }

  /** When the bytes end: the last stanza, if accepted. */
  end(): string[] {
    const accepted: string[] = [];
    this.#take(Buffer.alloc(0), this.#offset, accepted);
    this.#stanzaStart = this.#offset;
    return accepted;
  }

  // The stanza is the stream's bytes from #stanzaStart to `until`: what earlier pieces held, then `piece`'s part.
  #take(piece: Buffer, until: number, accepted: string[]): void {
    let bytes = piece;
    let from = Math.max(0, this.#stanzaStart - this.#offset);
    let to = Math.max(0, until - this.#offset);
    if (this.#held.length > 0) {
      bytes = Buffer.concat([...this.#held, piece.subarray(from, to)]);
      [from, to] = [0, until - this.#stanzaStart];
      this.#held = [];
      this.#heldBytes = 0;
    }
    if (to <= from) return;
    if (this.#accept !== undefined) {
      const name = nameOf(bytes, from, to);
      if (name === undefined || !this.#accept(name)) return;
    }
    accepted.push(bytes.toString("utf8", from, to));
  }
}

// Indexes put the Package line first, so that line alone is decoded (~3 MB of text for bookworm's
// main index instead of 50): a match there is the first match in the stanza anyway.
function nameOf(bytes: Buffer, from: number, to: number): string | undefined {
  const newline = bytes.indexOf(10, from);
  const firstLine = packageLine.exec(bytes.toString("latin1", from, newline < 0 || newline > to ? to : newline));
  return (firstLine ?? packageLine.exec(bytes.toString("latin1", from, to)))?.[1];
}

function extendLine(line: LineSoFar, piece: Buffer, start: number, end: number): LineSoFar {
  for (let at = start; at < end && line !== "text"; at++) {
    const byte = piece[at];
    if (line === "blank" && (byte === 32 || byte === 9)) continue;
    line = line === "blank" && byte === 13 ? "blank+cr" : "text";
  }
  return line;
}
