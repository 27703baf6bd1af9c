// The stanzas of a Packages index found in its bytes as they decode, in pieces cut anywhere, are
// the ones its text split at blank lines gives.
import { describe, expect, it } from "vitest";
import { StanzaScanner } from "../../../distros/repos/stanza-scanner.ts";
import { FormatError } from "../../../archive/errors.ts";

const text = `Package: linux-image-6.1.0-47-cloud-amd64-dbg
Version: 6.1.170-3
Description: Debug symbols
 .
 for linux-image-6.1.0-47-cloud-amd64

Package: hello
Version: 2.10-3

Package: linux-image-6.12.117+deb12-cloud-amd64-dbg
Version: 6.12.117-1
`;

// A stanza found in bytes keeps the line end before its blank line; the text split drops it.
const withoutLineEnds = (stanzas: string[]) => stanzas.map((stanza) => stanza.replace(/\n+$/, ""));

function scanInPieces(bytes: Buffer, size: number, accept?: (name: string) => boolean): string[] {
  const scanner = new StanzaScanner(accept, "Packages");
  const stanzas: string[] = [];
  for (let at = 0; at < bytes.length; at += size) stanzas.push(...scanner.push(bytes.subarray(at, at + size)));
  return withoutLineEnds([...stanzas, ...scanner.end()]);
}

describe("StanzaScanner", () => {
  const accept = (name: string) => name.startsWith("linux-image-6");
  // Separators the deb822 grammar allows: spaces or tabs on the blank line, CRLF line ends; and non-ASCII text.
  const variants = [
    text,
    text.replace(/\n\n/g, "\n \t\n"),
    text.replace(/\n\n/g, "\n\r\n"),
    text.replace(/\n\n/g, "\nX-Note: caf\u00e9 \u2014 na\u00efve\n\n"),
    `\n${text}\n\n\n`,
  ];

  it("finds the stanzas the text split at blank lines gives, wherever the pieces are cut", () => {
    for (const variant of variants) {
      const split = variant.split(/\n[ \t]*\r?\n/);
      const expected = withoutLineEnds(split).filter((stanza) =>
        accept(/^Package:[ \t]*(\S+)/im.exec(stanza)?.[1] ?? ""),
      );
      expect(expected.length).toBe(2);
      const bytes = Buffer.from(variant);
      for (let size = 1; size <= bytes.length; size++) expect(scanInPieces(bytes, size, accept)).toEqual(expected);
      expect(scanInPieces(bytes, 5).filter((stanza) => stanza.trim() !== "")).toEqual(
        withoutLineEnds(split).filter((stanza) => stanza.trim() !== ""),
      );
    }
  });

  it("refuses a stanza past 1 MiB instead of holding it", () => {
    const scanner = new StanzaScanner(accept, "Packages");
    const line = Buffer.from(`Description: ${"x".repeat(1000)}\n`);
    expect(() => {
      for (let n = 0; n < 1100; n++) scanner.push(line);
    }).toThrow(FormatError);
  });
});
