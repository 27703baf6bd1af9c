// Reading yum repositories that createrepo_c made and gpg signed, served on 127.0.0.1: repomd.xml
// and its signature, primary in every compression, and each way a mirror goes wrong.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMirrorList } from "../../../distros/repos/mirror-list.ts";
import { parsePrimary } from "../../../distros/repos/primary.ts";
import { parseRepomd } from "../../../distros/repos/repomd.ts";
import { findRepository, readPrimary, readRepomd } from "../../../distros/repos/yum.ts";
import { ConfigError, FetchError, FormatError, IntegrityError } from "../../../archive/errors.ts";
import {
  buildYumRepo,
  createSigningKey,
  kernelDebuginfo,
  rewritePrimary,
  signRepomd,
} from "../../fixtures/rpm-repo.ts";
import type { MetadataCompression, SigningKey, YumRepo } from "../../fixtures/rpm-repo.ts";
import { startStaticServer } from "../../helpers/static-server.ts";
import type { StaticServer } from "../../helpers/static-server.ts";

let work: string;
let key: SigningKey;
let otherKey: SigningKey;
let server: StaticServer;
const repos = {} as Record<MetadataCompression, YumRepo>;
const accept = (name: string) => name === "kernel-debuginfo";

const specs = () => [
  kernelDebuginfo({ version: "4.18.0", release: "147.el8", trailingBytes: 0 }),
  kernelDebuginfo({ version: "4.18.0", release: "193.el8", arch: "aarch64", trailingBytes: 0 }),
  kernelDebuginfo({ name: "kernel-debuginfo-common-x86_64", version: "4.18.0", release: "147.el8", trailingBytes: 0 }),
];

// A copy of a built repository under another name, to break without touching the original.
async function copyRepo(from: YumRepo, name: string): Promise<YumRepo> {
  const root = join(work, "mirror", name);
  await execa("cp", ["-a", from.root, root]);
  return { ...from, root };
}

const repository = (name: string) => ({ base: `${server.url}/${name}`, keyring: key.keyring });
const unverified = (name: string) => ({ base: `${server.url}/${name}`, keyring: undefined });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-yum-"));
  await mkdir(join(work, "keys"));
  await mkdir(join(work, "other"));
  key = await createSigningKey(join(work, "keys"));
  otherKey = await createSigningKey(join(work, "other"), "someone else");
  for (const compression of ["gz", "xz", "zst", "bz2"] as const) {
    repos[compression] = await buildYumRepo(join(work, "mirror", compression), specs(), { key, compression });
  }
  server = await startStaticServer(join(work, "mirror"));
});

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("readRepomd and readPrimary", () => {
  it.each(["gz", "xz", "zst", "bz2"] as const)(
    "read a signed repository with a %s primary, keeping only the wanted names",
    async (compression) => {
      const verified = await readRepomd(repository(compression));
      expect(verified?.signed).toBe(true);
      expect(verified?.records.get("primary")?.href).toMatch(
        new RegExp(`^repodata/[0-9a-f]{64}-primary\\.xml\\.${compression}$`),
      );
      const packages = (await readPrimary(verified!, { accept })).sort((a, b) => a.arch.localeCompare(b.arch));
      const built = repos[compression].packages;
      expect(packages).toEqual([
        {
          name: "kernel-debuginfo",
          arch: "aarch64",
          epoch: 0,
          version: "4.18.0",
          release: "193.el8",
          sha256: built[1]!.sha256,
          size: built[1]!.size,
          href: built[1]!.href,
        },
        {
          name: "kernel-debuginfo",
          arch: "x86_64",
          epoch: 0,
          version: "4.18.0",
          release: "147.el8",
          sha256: built[0]!.sha256,
          size: built[0]!.size,
          href: built[0]!.href,
        },
      ]);
    },
  );

  it("answers undefined where there is no repository", async () => {
    expect(await readRepomd(repository("nothing-here"))).toBeUndefined();
  });

  it("reads an unsigned repository when no keyring is asked for, and refuses it when one is", async () => {
    const unsigned = await copyRepo(repos.gz, "unsigned");
    await rm(join(unsigned.root, "repodata/repomd.xml.asc"));
    expect((await readRepomd(unverified("unsigned")))?.signed).toBe(false);
    await expect(readRepomd(repository("unsigned"))).rejects.toThrow(
      `${server.url}/unsigned/repodata/repomd.xml is unsigned: ${server.url}/unsigned/repodata/repomd.xml.asc does not exist`,
    );
  });

  it("refuses a repomd.xml signed by another key, or changed after signing", async () => {
    const foreign = await copyRepo(repos.gz, "foreign");
    await signRepomd(foreign, otherKey);
    await expect(readRepomd(repository("foreign"))).rejects.toThrow(
      /signature of .*\/foreign\/repodata\/repomd.xml does not verify with keyring .*: .*NO_PUBKEY/,
    );
    const altered = await copyRepo(repos.gz, "altered");
    const repomd = join(altered.root, "repodata/repomd.xml");
    await writeFile(repomd, (await readFile(repomd, "utf8")).replace(/<revision>\d+/, "<revision>1"));
    await expect(readRepomd(repository("altered"))).rejects.toThrow(/does not verify with keyring .*BADSIG/);
  });

  it("refuses a primary whose bytes differ from what the signed repomd.xml says", async () => {
    const swapped = await copyRepo(repos.gz, "swapped");
    const verified = await readRepomd(repository("swapped"));
    const href = verified!.records.get("primary")!.href;
    // A valid primary of other packages, under the listed name.
    const file = join(swapped.root, href);
    const xml = (await execa("gzip", ["-dc", file])).stdout.replaceAll("147.el8", "148.el8");
    await writeFile(file, (await execa("gzip", ["-c"], { input: xml, encoding: "buffer" })).stdout);
    const error = await readPrimary(verified!, { accept }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(
      /primary\.xml\.gz (is announced as \d+ bytes, the signed repomd.xml says \d+|is \d+ bytes, the signed repomd.xml says \d+|has sha256 [0-9a-f]{64}, the signed repomd.xml says [0-9a-f]{64})$/,
    );
  });

  it("says a corrupt primary is an integrity failure, not malformed XML", async () => {
    const corrupt = await copyRepo(repos.zst, "corrupt");
    const verified = await readRepomd(repository("corrupt"));
    const file = join(corrupt.root, verified!.records.get("primary")!.href);
    const bytes = await readFile(file);
    for (let index = 20; index < 40; index++) bytes[index] = bytes[index]! ^ 0x5a;
    await writeFile(file, bytes);
    const error = await readPrimary(verified!, { accept }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).cause).toBeInstanceOf(FormatError);
  });

  it("reports a malformed primary that repomd.xml vouches for as a FormatError", async () => {
    const malformed = await copyRepo(repos.xz, "malformed");
    await rewritePrimary(malformed, { change: (xml) => xml.replace("</name>", "</nam>") });
    const verified = await readRepomd(repository("malformed"));
    await expect(readPrimary(verified!, { accept })).rejects.toThrow(
      /primary\.xml\.xz is not well-formed XML: .*unexpected close tag/,
    );
  });

  it("refuses a kept package that primary vouches for with another digest than sha256", async () => {
    const sha512 = join(work, "mirror", "sha512");
    await buildYumRepo(sha512, specs().slice(0, 1));
    await execa("createrepo_c", ["--quiet", "--no-database", "--checksum", "sha512", sha512]);
    const verified = await readRepomd(unverified("sha512"));
    expect(verified?.records.get("primary")?.checksum.algorithm).toBe("sha512");
    await expect(readPrimary(verified!, { accept })).rejects.toThrow(
      /package kernel-debuginfo-4.18.0-147.el8.x86_64 is vouched for by a sha512 checksum; btfmill verifies packages by sha256/,
    );
    // Packages nobody wants are never checked.
    expect(await readPrimary(verified!, { accept: () => false })).toEqual([]);
  });
});

describe("findRepository", () => {
  it("takes the repository from the first mirror that has it", async () => {
    const found = await findRepository(
      [repository("nothing-here"), { base: "http://127.0.0.1:1", keyring: key.keyring }, repository("gz")],
      "test repo",
    );
    expect(found.repository.base).toBe(`${server.url}/gz`);
  });

  it("stops at a bad signature instead of trying the next mirror", async () => {
    await expect(findRepository([repository("foreign"), repository("gz")], "test repo")).rejects.toThrow(
      IntegrityError,
    );
  });

  it("names every mirror it tried when none has the repository", async () => {
    const error = await findRepository([repository("a"), repository("b")], "fedora 31 updates").catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FetchError);
    expect((error as Error).message).toBe(
      `repository fedora 31 updates was found on none of the mirrors tried: ${server.url}/a (absent), ${server.url}/b (absent)`,
    );
  });

  it("reports a keyring that cannot be read as a ConfigError", async () => {
    await expect(readRepomd({ base: `${server.url}/gz`, keyring: join(work, "missing.gpg") })).rejects.toThrow(
      ConfigError,
    );
  });
});

describe("parseRepomd", () => {
  const repomd = (data: string) =>
    `<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo">${data}</repomd>`;

  it("reads old repositories' `sha` checksums and an xml:base location", () => {
    const records = parseRepomd(
      repomd(
        `<data type="primary"><checksum type="sha">${"ab".repeat(20)}</checksum><location xml:base="http://other.example/repo/" href="repodata/primary.xml.gz"/><size>10</size></data>`,
      ),
      "repomd.xml",
    );
    expect(records.get("primary")).toEqual({
      type: "primary",
      href: "http://other.example/repo/repodata/primary.xml.gz",
      checksum: { algorithm: "sha1", value: "ab".repeat(20) },
      size: 10,
      openChecksum: undefined,
      openSize: undefined,
    });
  });

  it("refuses md5, documents that are not repomd, and broken XML", () => {
    expect(() =>
      parseRepomd(repomd(`<data type="primary"><checksum type="md5">00</checksum><location href="x"/></data>`), "r"),
    ).toThrow(/^r: data of type primary: checksum type "md5" is not one btfmill trusts/);
    expect(() => parseRepomd("<html><body>404</body></html>", "r")).toThrow(
      /r is not a repomd document \(its root element is html\)/,
    );
    expect(() => parseRepomd("<repomd><data>", "r")).toThrow(FormatError);
    expect(() => parseRepomd(repomd(`<data type="primary"><location href="x"/></data>`), "r")).toThrow(
      /data of type primary lacks its location or checksum/,
    );
  });
});

describe("parsePrimary", () => {
  async function* lazyPrimary(count: number): AsyncGenerator<Buffer> {
    yield Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n',
    );
    const description = "x".repeat(600);
    for (let index = 0; index < count; index++) {
      const name = index % 50_000 === 7 ? "kernel-debuginfo" : `package-${index}`;
      yield Buffer.from(
        `<package type="rpm"><name>${name}</name><arch>x86_64</arch><version epoch="0" ver="1.${index}" rel="1.fc39"/>` +
          `<checksum type="sha256" pkgid="YES">${"0".repeat(64)}</checksum><summary>s</summary><description>${description}</description>` +
          `<size package="${index}" installed="1" archive="1"/><location href="Packages/p/${name}-1.${index}.rpm"/>` +
          `<format><rpm:license>MIT</rpm:license><rpm:provides><rpm:entry name="${name}"/></rpm:provides><file>/usr/bin/${name}</file></format></package>\n`,
      );
    }
    yield Buffer.from("</metadata>\n");
  }

  it("streams 200,000 packages (180 MB) keeping only the wanted ones, in flat memory", async () => {
    const before = process.memoryUsage().heapUsed;
    const packages = await parsePrimary(lazyPrimary(200_000), "primary.xml", { accept, maxBytes: 1024 ** 3 });
    expect(packages.map((pkg) => pkg.version)).toEqual(["1.7", "1.50007", "1.100007", "1.150007"]);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("keeps a UTF-8 character split between chunks whole", async () => {
    const xml = Buffer.from(
      `<metadata><package><name>kernel-debuginfo</name><arch>x86_64</arch><version ver="1" rel="1"/><checksum type="sha256">${"a".repeat(64)}</checksum>` +
        `<size package="1"/><location href="Packages/k/kernel-debuginfo-1-1.rpm"/><format><summary>é</summary></format></package></metadata>`,
    );
    async function* oneByteAtATime() {
      for (let index = 0; index < xml.length; index++) yield xml.subarray(index, index + 1);
    }
    expect(await parsePrimary(oneByteAtATime(), "p", { accept, maxBytes: 1e6 })).toHaveLength(1);
  });

  it("refuses a location that leaves the repository and more bytes than announced", async () => {
    const one = (href: string) =>
      (async function* () {
        yield Buffer.from(
          `<metadata><package><name>kernel-debuginfo</name><arch>x86_64</arch><version ver="1" rel="1"/><checksum type="sha256">${"a".repeat(64)}</checksum><size package="1"/><location href="${href}"/></package></metadata>`,
        );
      })();
    await expect(parsePrimary(one("../../etc/passwd"), "p", { accept, maxBytes: 1e6 })).rejects.toThrow(
      /location "..\/..\/etc\/passwd" outside the repository/,
    );
    await expect(parsePrimary(one("/etc/passwd"), "p", { accept, maxBytes: 1e6 })).rejects.toThrow(
      /outside the repository/,
    );
    await expect(parsePrimary(one("Packages/k.rpm"), "p", { accept, maxBytes: 100 })).rejects.toThrow(
      /decodes to more than 100 bytes/,
    );
  });
});

describe("parseMirrorList", () => {
  it("takes the first repository URL, fills in $basearch and resolves it against the list", () => {
    expect(
      parseMirrorList(
        "# Amazon\n\nhttp://a.example/2/core/2.0/$basearch/abc/\nhttp://b.example/\n",
        "http://x/mirror.list",
        "aarch64",
      ),
    ).toBe("http://a.example/2/core/2.0/aarch64/abc");
    expect(parseMirrorList("../repo", "http://x.example/a/b/mirror.list", "x86_64")).toBe("http://x.example/a/repo");
  });

  it("refuses an empty list, an unknown variable and a URL that is not http", () => {
    expect(() => parseMirrorList("\n# nothing\n", "m", "x86_64")).toThrow(/m lists no repository/);
    expect(() => parseMirrorList("http://a/$awsregion/", "m", "x86_64")).toThrow(
      /with a variable btfmill does not fill in/,
    );
    expect(() => parseMirrorList("file:///etc", "http://x/m", "x86_64")).toThrow(/not an http\(s\) URL/);
  });
});
