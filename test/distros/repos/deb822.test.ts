// deb822 stanzas as Release, Packages and .sources files write them, real Debian text included.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { FormatError } from "../../../archive/errors.ts";
import { fieldWords, parseDeb822 } from "../../../distros/repos/deb822.ts";

const failure = (text: string): FormatError => {
  try {
    parseDeb822(text, "Release");
  } catch (error) {
    return error as FormatError;
  }
  throw new Error("expected a FormatError");
};

describe("parseDeb822", () => {
  it("splits stanzas at blank lines and lowercases field names, keeping values' case", () => {
    const stanzas = parseDeb822(
      "Package: linux-image-6.1.0-47-cloud-amd64-dbg\nVersion: 6.1.158-1\n\nPackage: B\n",
      "Packages",
    );
    expect(stanzas).toEqual([
      new Map([
        ["package", "linux-image-6.1.0-47-cloud-amd64-dbg"],
        ["version", "6.1.158-1"],
      ]),
      new Map([["package", "B"]]),
    ]);
  });

  it("joins continuation lines with newlines, each trimmed, under the field before them", () => {
    const [release] = parseDeb822(
      "SHA256:\n 7ad4 281462948 main/binary-amd64/Packages\n\t9bc1 123 main/Contents\n",
      "Release",
    );
    expect(release!.get("sha256")).toBe("\n7ad4 281462948 main/binary-amd64/Packages\n9bc1 123 main/Contents");
  });

  it("skips comment lines and CRLF endings, and treats whitespace-only lines as stanza breaks", () => {
    const stanzas = parseDeb822(
      "# a .sources file\r\nTypes: deb\r\nURIs: http://127.0.0.1/debian\r\n  \r\nTypes: deb-src\r\n",
      "x.sources",
    );
    expect(stanzas.map((stanza) => stanza.get("types"))).toEqual(["deb", "deb-src"]);
    expect(stanzas[0]!.get("uris")).toBe("http://127.0.0.1/debian");
  });

  it("keeps colons inside a value", () => {
    const [stanza] = parseDeb822("Date: Sat, 15 Nov 2025 09:27:16 UTC\n", "Release");
    expect(stanza!.get("date")).toBe("Sat, 15 Nov 2025 09:27:16 UTC");
  });

  it("refuses a continuation line with no field before it, naming the line", () => {
    const error = failure(" orphan\n");
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toBe("Release line 1: continuation line with no field before it");
  });

  it("refuses a line that is not a field, quoting it, as when an HTML page is served instead", () => {
    expect(failure("Suite: bookworm\n<html>\n").message).toBe('Release line 2: expected "Field: value", got "<html>"');
  });

  it("refuses a field given twice in one stanza, though the same field may start the next", () => {
    expect(failure("Package: a\npackage: b\n").message).toBe(
      "Release line 2: field package appears twice in one stanza",
    );
    expect(parseDeb822("Package: a\n\nPackage: b\n", "Packages")).toHaveLength(2);
  });

  it("reads the machine's own apt status file, every stanza with a Package field", async (context) => {
    const text = await readFile("/var/lib/dpkg/status", "utf8").catch(() => undefined);
    context.skip(text === undefined, "no /var/lib/dpkg/status on this machine");
    const stanzas = parseDeb822(text!, "/var/lib/dpkg/status");
    expect(stanzas.length).toBeGreaterThan(50);
    for (const stanza of stanzas) expect(stanza.get("package")).toMatch(/^[a-z0-9][a-z0-9+.-]*$/);
    expect(stanzas.some((stanza) => stanza.get("package") === "dpkg")).toBe(true);
  });
});

describe("fieldWords", () => {
  it("splits a list field on any whitespace, continuation lines included, and gives none for an absent field", () => {
    const [stanza] = parseDeb822("Architectures: amd64  arm64\n i386\n", "Release");
    expect(fieldWords(stanza!, "architectures")).toEqual(["amd64", "arm64", "i386"]);
    expect(fieldWords(stanza!, "suites")).toEqual([]);
  });
});
