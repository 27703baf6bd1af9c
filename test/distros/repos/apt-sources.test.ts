import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadAptSources, parseDeb822Sources, parseOneLineSources } from "../../../distros/repos/apt-sources.ts";
import { FormatError } from "../../../archive/errors.ts";

const keyBlock = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEZlc0ZRYJKwYBBAHaRw8BAQdAexample
=abcd
-----END PGP PUBLIC KEY BLOCK-----
`;

describe("parseOneLineSources", () => {
  it("reads type, options, URI, suite and components, and skips comments", () => {
    const text = [
      "# the archive",
      "deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian/ bookworm main contrib",
      "deb-src http://mirror.example/debian bookworm main # sources too",
      "",
      "deb [ trusted=yes ] http://mirror.example/debian-security bookworm-security main",
    ].join("\n");
    expect(parseOneLineSources(text, "sources.list")).toEqual([
      {
        type: "deb",
        uri: "http://mirror.example/debian",
        suites: ["bookworm"],
        components: ["main", "contrib"],
        signedBy: ["/usr/share/keyrings/debian-archive-keyring.gpg"],
        signedByKey: undefined,
        architectures: ["amd64", "arm64"],
        file: "sources.list",
      },
      expect.objectContaining({ type: "deb-src", uri: "http://mirror.example/debian", components: ["main"] }),
      expect.objectContaining({
        type: "deb",
        uri: "http://mirror.example/debian-security",
        signedBy: [],
        architectures: [],
      }),
    ]);
  });

  it("names the file and line of an unknown type or a line without a suite", () => {
    expect(() => parseOneLineSources("rpm http://x/ y", "a.list")).toThrow(/a\.list line 1: unknown source type "rpm"/);
    expect(() => parseOneLineSources("\ndeb http://x/", "b.list")).toThrow(FormatError);
    expect(() => parseOneLineSources("\ndeb http://x/", "b.list")).toThrow(/b\.list line 2/);
  });
});

describe("parseDeb822Sources", () => {
  it("expands Types x URIs, keeps comments out and skips disabled stanzas", () => {
    const text = [
      "Types: deb deb-src",
      "# a snapshot of the archive",
      "URIs: http://mirror.example/debian http://other.example/debian/",
      "Suites: bookworm bookworm-updates",
      "Components: main",
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      "",
      "Types: deb",
      "URIs: http://mirror.example/debian-security",
      "Suites: bookworm-security",
      "Components: main",
      "Architectures: amd64",
      "Enabled: no",
    ].join("\n");
    const sources = parseDeb822Sources(text, "debian.sources");
    expect(sources.map((source) => `${source.type} ${source.uri}`)).toEqual([
      "deb http://mirror.example/debian",
      "deb http://other.example/debian",
      "deb-src http://mirror.example/debian",
      "deb-src http://other.example/debian",
    ]);
    expect(sources[0]).toMatchObject({
      suites: ["bookworm", "bookworm-updates"],
      components: ["main"],
      signedBy: ["/usr/share/keyrings/debian-archive-keyring.gpg"],
      signedByKey: undefined,
    });
  });

  it("reads a key block embedded in Signed-By, with deb822's `.` for its blank line", () => {
    const embedded = keyBlock
      .trimEnd()
      .split("\n")
      .map((line) => ` ${line === "" ? "." : line}`)
      .join("\n");
    const text = `Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\nSigned-By:\n${embedded}\n`;
    const [source] = parseDeb822Sources(text, "inline.sources");
    expect(source?.signedBy).toEqual([]);
    expect(source?.signedByKey).toBe(keyBlock);
  });

  it("refuses a stanza without URIs or with an unknown type", () => {
    expect(() => parseDeb822Sources("Types: deb\nSuites: bookworm\n", "x.sources")).toThrow(
      /lacks Types, URIs or Suites/,
    );
    expect(() => parseDeb822Sources("Types: rpm\nURIs: http://x\nSuites: y\n", "x.sources")).toThrow(FormatError);
  });
});

describe("loadAptSources", () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  it("reads sources.list, then the .list and .sources parts in name order, ignoring other files", async () => {
    const root = await mkdtemp(join(tmpdir(), "btfmill-apt-root-"));
    roots.push(root);
    await mkdir(join(root, "etc/apt/sources.list.d"), { recursive: true });
    await writeFile(join(root, "etc/apt/sources.list"), "deb http://first.example/debian bookworm main\n");
    await writeFile(
      join(root, "etc/apt/sources.list.d/b.sources"),
      "Types: deb\nURIs: http://third.example/debian\nSuites: bookworm\n",
    );
    await writeFile(join(root, "etc/apt/sources.list.d/a.list"), "deb http://second.example/debian bookworm main\n");
    await writeFile(
      join(root, "etc/apt/sources.list.d/c.list.disabled"),
      "deb http://never.example/debian bookworm main\n",
    );
    const sources = await loadAptSources(root);
    expect(sources.map((source) => source.uri)).toEqual([
      "http://first.example/debian",
      "http://second.example/debian",
      "http://third.example/debian",
    ]);
    expect(sources[2]?.file).toBe(join(root, "etc/apt/sources.list.d/b.sources"));
  });

  it("answers no entries for a root without apt configuration", async () => {
    const root = await mkdtemp(join(tmpdir(), "btfmill-apt-root-"));
    roots.push(root);
    expect(await loadAptSources(root)).toEqual([]);
  });

  it("parses this machine's own apt sources", async () => {
    const sources = await loadAptSources();
    for (const source of sources) expect(source.uri).toMatch(/^[a-z+]+:/);
  });
});
