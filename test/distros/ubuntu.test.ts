import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyPath } from "../../archive/kernel-key.ts";
import type { KernelPackage, SourceConfig } from "../../distros/types.ts";
import { parseUbuntuKernelPackage, UbuntuSource, ubuntuStubMaxBytes, ubuntuSuites } from "../../distros/ubuntu.ts";
import { ConfigError, IntegrityError } from "../../archive/errors.ts";
import { fetchVmlinux } from "../../pipeline/stages/fetch.ts";
import {
  buildAptMirror,
  corruptPackagesIndex,
  createSigningKey,
  dbgsymPackage,
  tamperPackage,
} from "../fixtures/apt-mirror.ts";
import type { AptMirror, SigningKey } from "../fixtures/apt-mirror.ts";
import { makeVmlinux } from "../fixtures/vmlinux.ts";
import { startStaticServer } from "../helpers/static-server.ts";
import type { StaticServer } from "../helpers/static-server.ts";

describe("ubuntuSuites", () => {
  it("names the release, -updates, -security and -proposed suites of a VERSION_ID", () => {
    expect(ubuntuSuites("20.04")).toEqual(["focal", "focal-updates", "focal-security", "focal-proposed"]);
    expect(ubuntuSuites("16.04")[0]).toBe("xenial");
    expect(ubuntuSuites("18.04")[0]).toBe("bionic");
    expect(ubuntuSuites("22.04")[0]).toBe("jammy");
    expect(ubuntuSuites("24.04")[0]).toBe("noble");
    expect(ubuntuSuites("25.10")[0]).toBe("questing");
  });

  it("leaves -proposed out when the config sets `proposed: false`", () => {
    expect(ubuntuSuites("22.04", { proposed: false })).toEqual(["jammy", "jammy-updates", "jammy-security"]);
    expect(ubuntuSuites("22.04", { proposed: true })).toEqual(ubuntuSuites("22.04"));
  });

  it("refuses a release it has no codename for, pointing at `suites`", () => {
    expect(() => ubuntuSuites("focal")).toThrow(ConfigError);
    const error = (() => {
      try {
        return ubuntuSuites("23.10");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).hint).toMatch(
      /^use a VERSION_ID among 16.04, 18.04, .*, or list the suites in the config$/,
    );
  });
});

describe("parseUbuntuKernelPackage", () => {
  it.each([
    ["linux-image-unsigned-5.8.0-63-generic-dbgsym", "5.8.0-63-generic", "generic", true],
    ["linux-image-5.8.0-63-generic-dbgsym", "5.8.0-63-generic", "generic", false],
    ["linux-image-5.4.0-1055-aws-dbgsym", "5.4.0-1055-aws", "aws", false],
    ["linux-image-unsigned-5.15.0-1034-azure-dbgsym", "5.15.0-1034-azure", "azure", true],
    ["linux-image-unsigned-6.8.0-1010-gcp-dbgsym", "6.8.0-1010-gcp", "gcp", true],
    ["linux-image-unsigned-6.8.0-31-generic-64k-dbgsym", "6.8.0-31-generic-64k", "generic-64k", true],
    [
      "linux-image-unsigned-5.15.0-1045-nvidia-lowlatency-dbgsym",
      "5.15.0-1045-nvidia-lowlatency",
      "nvidia-lowlatency",
      true,
    ],
    ["linux-image-5.4.0-1103-raspi-dbgsym", "5.4.0-1103-raspi", "raspi", false],
  ])("reads %s as kernel %s, flavor %s", (name, kernel, flavor, unsigned) => {
    expect(parseUbuntuKernelPackage(name)).toEqual({ kernel, flavor, unsigned });
  });

  it.each([
    "linux-image-generic-dbgsym",
    "linux-image-unsigned-generic-dbgsym",
    "linux-image-5.4.0-26-generic",
    "linux-modules-5.4.0-26-generic-dbgsym",
  ])("skips %s", (name) => {
    expect(parseUbuntuKernelPackage(name)).toBeUndefined();
  });
});

describe("UbuntuSource against a loopback ddebs mirror", () => {
  let dir: string;
  let server: StaticServer;
  let key: SigningKey;
  let ddebs: AptMirror;
  let ports: AptMirror;
  let unsigned: AptMirror;
  let broken: AptMirror;

  const config = (overrides: Partial<SourceConfig> = {}): SourceConfig => ({
    distro: "ubuntu",
    release: "20.04",
    arch: "x86_64",
    mirror: [`${server.url}/ddebs`],
    keyring: key.keyring,
    ...overrides,
  });
  const summary = (found: KernelPackage[]) =>
    found.map((item) => `${item.flavor} ${item.key.kernel} ${item.name} ${item.version} ${item.origin}`);
  const urlOf = (mirror: AptMirror, name: string, prefix: string) =>
    `${server.url}/${prefix}/${mirror.packages.find((item) => item.name === name)!.filename}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "btfmill-ubuntu-"));
    const vmlinux = await makeVmlinux(join(dir, "vmlinux"));
    key = await createSigningKey(dir, "dbgsym");
    const real = (kernel: string, version: string, more: Partial<Parameters<typeof dbgsymPackage>[0]> = {}) =>
      dbgsymPackage({ kernel, version, vmlinux, compression: "zstd", ...more });
    const stub = (kernel: string, version: string, source = "linux-signed") =>
      dbgsymPackage({ kernel, version, signed: true, source });
    ddebs = await buildAptMirror(join(dir, "ddebs"), {
      arch: "amd64",
      key,
      origin: "Ubuntu",
      suites: {
        focal: [
          real("5.4.0-26-generic", "5.4.0-26.30", { compression: "xz" }),
          stub("5.4.0-26-generic", "5.4.0-26.30"),
          real("5.4.0-26-lowlatency", "5.4.0-26.30"),
          stub("5.4.0-26-lowlatency", "5.4.0-26.30"),
          // A kernel without a signed build: its only package has the signed name and is the real one.
          real("5.4.0-1009-aws", "5.4.0-1009.9", { signed: true, source: "linux-aws" }),
          {
            name: "linux-image-generic-dbgsym",
            version: "5.4.0.26.32",
            source: "linux-meta",
            extension: "ddeb",
            files: [{ path: "usr/share/doc/meta/README", contents: "meta\n" }],
          },
          {
            name: "hello-dbgsym",
            version: "2.10-2",
            source: "hello",
            extension: "ddeb",
            files: [{ path: "usr/lib/debug/.build-id/00/hello.debug", contents: "x" }],
          },
        ],
        "focal-updates": [
          real("5.4.0-42-generic", "5.4.0-42.46"),
          stub("5.4.0-42-generic", "5.4.0-42.46"),
          // HWE: a newer kernel series built for focal, filed under 20.04.
          real("5.8.0-63-generic", "5.8.0-63.71~20.04.1", { source: "linux-hwe-5.8" }),
          stub("5.8.0-63-generic", "5.8.0-63.71~20.04.1", "linux-signed-hwe-5.8"),
          // Both forms hold a debug image: the unsigned one is taken.
          real("5.4.0-1019-gcp", "5.4.0-1019.19", { source: "linux-gcp" }),
          real("5.4.0-1019-gcp", "5.4.0-1019.19", { signed: true, source: "linux-signed-gcp" }),
          // Only the stub is listed: the kernel is not there at all.
          stub("5.4.0-30-generic", "5.4.0-30.34"),
        ],
        "focal-proposed": [real("5.4.0-42-generic", "5.4.0-42.46"), real("5.4.0-43-generic", "5.4.0-43.47")],
      },
    });
    ports = await buildAptMirror(join(dir, "ddebs-arm64"), {
      arch: "arm64",
      key,
      origin: "Ubuntu",
      suites: {
        focal: [real("5.4.0-26-generic", "5.4.0-26.30", { arch: "arm64" }), stub("5.4.0-26-generic", "5.4.0-26.30")],
        "focal-updates": [],
        "focal-proposed": [],
      },
    });
    unsigned = await buildAptMirror(join(dir, "unsigned"), {
      arch: "amd64",
      key,
      origin: "Ubuntu",
      unsigned: true,
      suites: {
        bionic: [real("4.15.0-20-generic", "4.15.0-20.21")],
        "bionic-updates": [
          real("5.4.0-84-generic", "5.4.0-84.94~18.04.1", { source: "linux-hwe-5.4" }),
          stub("5.4.0-84-generic", "5.4.0-84.94~18.04.1", "linux-signed-hwe-5.4"),
        ],
        "bionic-proposed": [],
      },
    });
    // Only .xz, as the checks below read it through the xz child.
    broken = await buildAptMirror(join(dir, "broken"), {
      arch: "amd64",
      key,
      unsigned: true,
      packagesFormats: ["xz"],
      suites: {
        bionic: [stub("4.15.0-20-generic", "4.15.0-20.21")],
        "bionic-updates": [real("4.15.0-21-generic", "4.15.0-21.22")],
      },
    });
    await corruptPackagesIndex(broken, "bionic");
    await tamperPackage(broken, "linux-image-unsigned-4.15.0-21-generic-dbgsym");
    server = await startStaticServer(dir);
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("finds one real debug image per kernel across the release's suites, newest first per flavor", async () => {
    const found = await new UbuntuSource(config()).discover();
    expect(summary(found)).toEqual([
      "aws 5.4.0-1009-aws linux-image-5.4.0-1009-aws-dbgsym 5.4.0-1009.9 focal",
      "gcp 5.4.0-1019-gcp linux-image-unsigned-5.4.0-1019-gcp-dbgsym 5.4.0-1019.19 focal-updates",
      "generic 5.8.0-63-generic linux-image-unsigned-5.8.0-63-generic-dbgsym 5.8.0-63.71~20.04.1 focal-updates",
      "generic 5.4.0-43-generic linux-image-unsigned-5.4.0-43-generic-dbgsym 5.4.0-43.47 focal-proposed",
      "generic 5.4.0-42-generic linux-image-unsigned-5.4.0-42-generic-dbgsym 5.4.0-42.46 focal-updates",
      "generic 5.4.0-26-generic linux-image-unsigned-5.4.0-26-generic-dbgsym 5.4.0-26.30 focal",
      "lowlatency 5.4.0-26-lowlatency linux-image-unsigned-5.4.0-26-lowlatency-dbgsym 5.4.0-26.30 focal",
    ]);
    for (const item of found) expect(item.size).toBeGreaterThan(ubuntuStubMaxBytes);
  });

  it("describes an HWE kernel under the release whose archive ships it, with the .ddeb the mirror serves", async () => {
    const found = await new UbuntuSource(config({ flavors: ["generic"] })).discover();
    const hwe = found.find((item) => item.key.kernel === "5.8.0-63-generic")!;
    const file = ddebs.packages.find((item) => item.name === "linux-image-unsigned-5.8.0-63-generic-dbgsym")!;
    expect(hwe).toEqual({
      key: { distro: "ubuntu", release: "20.04", arch: "x86_64", kernel: "5.8.0-63-generic" },
      flavor: "generic",
      name: "linux-image-unsigned-5.8.0-63-generic-dbgsym",
      version: "5.8.0-63.71~20.04.1",
      url: `${server.url}/ddebs/pool/main/l/linux-hwe-5.8/linux-image-unsigned-5.8.0-63-generic-dbgsym_5.8.0-63.71~20.04.1_amd64.ddeb`,
      sha256: file.sha256,
      size: file.size,
      format: "deb",
      vmlinuxPath: "usr/lib/debug/boot/vmlinux-5.8.0-63-generic",
      origin: "focal-updates",
    });
  });

  it("says what it left out and why: signed stubs, meta packages, and a -security suite ddebs does not publish", async () => {
    const before = server.requests.length;
    const source = new UbuntuSource(config());
    const survey = await source.survey();
    const stub = (kernel: string, size: number) =>
      `a signed stub of ${size} bytes (under 10 MB), not a debug image; linux-image-unsigned-${kernel}-dbgsym carries the vmlinux`;
    const sizeOf = (name: string) => ddebs.packages.find((item) => item.name === name)!.size;
    const stubs = [
      "5.4.0-26-generic",
      "5.4.0-26-lowlatency",
      "5.4.0-42-generic",
      "5.8.0-63-generic",
      "5.4.0-30-generic",
    ];
    expect(survey.skipped.map((item) => `${item.suite} ${item.name}: ${item.reason}`).sort()).toEqual(
      [
        "focal linux-image-generic-dbgsym: a meta package: its name carries no kernel release",
        ...stubs.map((kernel, index) => {
          const name = `linux-image-${kernel}-dbgsym`;
          return `${index < 2 ? "focal" : "focal-updates"} ${name}: ${stub(kernel, sizeOf(name))}`;
        }),
      ].sort(),
    );
    for (const kernel of stubs) expect(sizeOf(`linux-image-${kernel}-dbgsym`)).toBeLessThan(ubuntuStubMaxBytes);
    expect(survey.absentSuites).toEqual(["focal-security"]);
    expect(source.insecure).toBe(false);
    const asked = server.requests.slice(before).map((request) => `${request.path} ${request.status}`);
    expect(asked).toEqual(
      expect.arrayContaining([
        "/ddebs/dists/focal-security/InRelease 404",
        "/ddebs/dists/focal-security/Release 404",
        "/ddebs/dists/focal/InRelease 200",
      ]),
    );
    expect(asked.some((line) => line.endsWith(".ddeb 200"))).toBe(false);
  });

  it("stamps the suites ddebs has and the -security suite it lacks as its survey does; without -proposed the stamp differs", async () => {
    const stamp = await new UbuntuSource(config()).stamp();
    expect(stamp).toMatch(/^[0-9a-f]{64}$/);
    expect((await new UbuntuSource(config()).survey()).stamp).toBe(stamp);
    expect(await new UbuntuSource(config({ proposed: false })).stamp()).not.toBe(stamp);
  });

  it("fails when a suite the config lists is missing, even a -security one", async () => {
    await expect(new UbuntuSource(config({ suites: ["focal", "focal-security"] })).discover()).rejects.toThrow(
      /suite focal-security was found on none of the mirrors tried/,
    );
  });

  it("keeps the configured flavors and the `latest` newest of each, and names a flavor no index carries", async () => {
    const found = await new UbuntuSource(config({ flavors: ["generic", "aws"], latest: 2 })).discover();
    expect(found.map((item) => item.key.kernel)).toEqual(["5.4.0-1009-aws", "5.8.0-63-generic", "5.4.0-43-generic"]);
    await expect(new UbuntuSource(config({ flavors: ["azure"] })).discover()).rejects.toThrow(
      /Ubuntu 20.04 x86_64 has no -dbgsym kernels of flavor azure/,
    );
  });

  it("reads arm64 kernels from the arm64 indexes", async () => {
    const found = await new UbuntuSource(config({ arch: "arm64", mirror: [`${server.url}/ddebs-arm64`] })).discover();
    expect(found.map((item) => [keyPath(item.key), item.url])).toEqual([
      [
        "ubuntu/20.04/arm64/5.4.0-26-generic",
        urlOf(ports, "linux-image-unsigned-5.4.0-26-generic-dbgsym", "ddebs-arm64"),
      ],
    ]);
    expect(found[0]!.url).toMatch(/_arm64\.ddeb$/);
  });

  it("reads an unsigned mirror only when the source says `insecure`, and says it did", async () => {
    const before = server.requests.length;
    const source = new UbuntuSource(
      config({ release: "18.04", mirror: [`${server.url}/unsigned`], keyring: undefined, insecure: true }),
    );
    expect(source.insecure).toBe(true);
    const found = await source.discover();
    expect(found.map((item) => `${keyPath(item.key)} ${item.origin}`)).toEqual([
      "ubuntu/18.04/x86_64/5.4.0-84-generic bionic-updates",
      "ubuntu/18.04/x86_64/4.15.0-20-generic bionic",
    ]);
    const asked = server.requests.slice(before).map((request) => request.path);
    expect(asked.filter((path) => /InRelease|Release\.gpg/.test(path))).toEqual([]);
    expect(asked).toContain("/unsigned/dists/bionic/Release");
    expect(found[0]!.url).toBe(urlOf(unsigned, "linux-image-unsigned-5.4.0-84-generic-dbgsym", "unsigned"));
  });

  it("refuses a source without a keyring unless it says `insecure`, and one that says both", () => {
    expect(() => new UbuntuSource(config({ keyring: undefined }))).toThrow(ConfigError);
    expect(() => new UbuntuSource(config({ keyring: undefined }))).toThrow(
      /source ubuntu\/20.04\/x86_64 has no keyring to verify the Ubuntu indexes with/,
    );
    expect(() => new UbuntuSource(config({ insecure: true }))).toThrow(/sets both `keyring` and `insecure`/);
  });

  it("still checks an insecure source's indexes against its Release, and its packages against the index", async () => {
    const insecure = (suites: string[]) =>
      new UbuntuSource(
        config({ release: "18.04", mirror: [`${server.url}/broken`], keyring: undefined, insecure: true, suites }),
      );
    await expect(insecure(["bionic"]).discover()).rejects.toThrow(
      /broken\/dists\/bionic\/main\/binary-amd64\/Packages.xz .*the signed Release says/,
    );
    const [tampered] = await insecure(["bionic-updates"]).discover();
    const error = await fetchVmlinux(tampered!, join(dir, "tampered-vmlinux")).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as Error).message).toMatch(/^sha256 of the package is [0-9a-f]{64}, the index says/);
  });

  it.each([
    ["data.tar.xz", "5.4.0-26-generic"],
    ["data.tar.zst", "5.4.0-42-generic"],
  ])("streams the vmlinux out of a .ddeb whose payload is %s and stops decoding at its end", async (member, kernel) => {
    const found = await new UbuntuSource(
      config({ flavors: ["generic"], suites: ["focal", "focal-updates"] }),
    ).discover();
    const pkg = found.find((item) => item.key.kernel === kernel);
    const file = ddebs.packages.find((item) => item.name === pkg?.name)!;
    expect(file.path).toMatch(/\.ddeb$/);
    expect((await execa("ar", ["t", file.path])).stdout.split("\n")).toContain(member);
    const destination = join(dir, `${kernel}.vmlinux`);
    const result = await fetchVmlinux(pkg!, destination);
    expect((await readFile(destination)).equals(await readFile(join(dir, "vmlinux")))).toBe(true);
    expect(result.downloadedBytes).toBe(pkg!.size);
    // The payload is the vmlinux and then over 10 MB of modules that are only hashed, never decoded.
    expect(result.payloadBytes).toBeLessThan(ubuntuStubMaxBytes / 2);
  });
});
