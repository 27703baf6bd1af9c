// Discovery for every RPM distro, and what the family base gives each, against loopback mirrors laid out as each distro's real ones
// are (paths, mirror lists, flat and tree repositories), built with rpmbuild and createrepo_c.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSource } from "../../distros/index.ts";
import { RpmFamilySource, unknownRelease, type RpmArch, type RpmRepositorySpec } from "../../distros/rpm-family.ts";
import type { KernelPackage, SourceConfig } from "../../distros/types.ts";
import { ConfigError, FetchError, IntegrityError } from "../../archive/errors.ts";
import { buildYumRepo, createSigningKey, indexYumRepo, kernelDebuginfo, signRepomd } from "../fixtures/rpm-repo.ts";
import type { KernelDebuginfoOptions, RpmSpec, SigningKey, YumRepo } from "../fixtures/rpm-repo.ts";
import { emptyRepositories, readLayout } from "../helpers/rpm-layout.ts";
import { startStaticServer } from "../helpers/static-server.ts";
import type { StaticServer } from "../helpers/static-server.ts";

let work: string;
let mirror: string;
let key: SigningKey;
let server: StaticServer;
const repos: Record<string, YumRepo> = {};

const small = (options: KernelDebuginfoOptions): RpmSpec => kernelDebuginfo({ trailingBytes: 0, ...options });
const suse = (flavor: string, version: string, release: string, arch = "x86_64"): RpmSpec =>
  small({ name: `kernel-${flavor}-debuginfo`, version, release, arch });

async function repo(
  path: string,
  specs: RpmSpec[],
  options: { key?: SigningKey; compression?: "gz" | "xz" | "zst"; packagesDir?: string } = {},
): Promise<void> {
  repos[path] = await buildYumRepo(join(mirror, path), specs, options);
}

async function mirrorList(path: string, target: string): Promise<void> {
  await mkdir(dirname(join(mirror, path)), { recursive: true });
  await writeFile(join(mirror, path), `${target}\n`);
}

async function discover(
  config: Omit<SourceConfig, "arch"> & { arch?: SourceConfig["arch"] },
): Promise<KernelPackage[]> {
  return createSource({ arch: "x86_64", insecure: true, ...config }).discover();
}

const kernels = (packages: KernelPackage[]) => packages.map((pkg) => `${pkg.flavor} ${pkg.key.kernel} ${pkg.origin}`);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-rpm-sources-"));
  mirror = join(work, "mirror");
  await mkdir(join(work, "keys"));
  key = await createSigningKey(join(work, "keys"));
  server = await startStaticServer(mirror);
  await Promise.all([
    // Fedora: the release tree on one host, updates on another (as the archive host splits them).
    repo(
      "fedora-a/releases/31/Everything/x86_64/debug/tree",
      [
        small({ version: "5.3.7", release: "301.fc31" }),
        small({ name: "kernel-debuginfo-common-x86_64", version: "5.3.7", release: "301.fc31" }),
      ],
      { packagesDir: "Packages/k", compression: "zst" },
    ),
    repo(
      "fedora-b/updates/31/Everything/x86_64/debug",
      [small({ version: "5.8.18", release: "100.fc31" }), small({ version: "5.8.15", release: "101.fc31" })],
      {
        packagesDir: "Packages/k",
        compression: "xz",
      },
    ),
    // CentOS 8 and Stream 8 side by side on debuginfo.centos.org.
    repo(
      "centos/8/x86_64",
      [small({ version: "4.18.0", release: "147.el8" }), small({ version: "4.18.0", release: "193.el8" })],
      { compression: "xz" },
    ),
    repo("centos/8-stream/x86_64", [
      small({ version: "4.18.0", release: "240.el8" }),
      small({ version: "4.18.0", release: "193.el8", arch: "aarch64" }),
    ]),
    // Oracle: one flat repository, both families and arches.
    repo(
      "oracle/ol7/debuginfo",
      [
        small({ name: "kernel-uek-debuginfo", version: "4.14.35", release: "2047.502.5.el7uek" }),
        small({ name: "kernel-uek-debuginfo", version: "4.14.35", release: "1902.300.11.el7uek" }),
        small({ name: "kernel-uek-debuginfo", version: "4.14.35", release: "2047.502.5.el7uek", arch: "aarch64" }),
        small({ version: "3.10.0", release: "1160.el7" }),
        small({ name: "kernel-debuginfo-common-x86_64", version: "3.10.0", release: "1160.el7" }),
      ],
      { packagesDir: "" },
    ),
    // Amazon Linux 2: repositories behind mirror lists, one of them with yum's $basearch.
    repo("amazon/2/core/2.0/debuginfo/x86_64/5f6c2a", [small({ version: "4.14.243", release: "185.433.amzn2" })]),
    repo("amazon/2/extras/kernel-5.10/stable/debuginfo/x86_64/e1", [
      small({ version: "5.10.50", release: "44.132.amzn2" }),
    ]),
    repo("amazon/2/extras/kernel-5.4/stable/debuginfo/x86_64/e2", []),
    repo("amazon/2/extras/kernel-5.15/stable/debuginfo/x86_64/e3", []),
    // openSUSE Leap 15.5: signed, zstd metadata, kernels from SLE in the sle update repository.
    repo(
      "opensuse/debug/distribution/leap/15.5/repo/oss",
      [suse("default", "5.14.21", "150500.53.2"), suse("default-base", "5.14.21", "150500.53.2")],
      { key, compression: "zst" },
    ),
    repo("opensuse/debug/update/leap/15.5/oss", [], { key, compression: "zst" }),
    repo(
      "opensuse/debug/update/leap/15.5/sle",
      [
        suse("default", "5.14.21", "150500.55.39.1"),
        suse("azure", "5.14.21", "150500.33.20.1"),
        suse("default", "5.14.21", "150500.55.39.1", "aarch64"),
      ],
      {
        key,
        compression: "zst",
      },
    ),
    repo("rocky-vault/9.2/BaseOS/x86_64/debug/tree", [small({ version: "5.14.0", release: "284.11.1.el9_2" })]),
    repo("alma/9/BaseOS/debug/x86_64", [small({ version: "5.14.0", release: "70.13.1.el9_0" })]),
    repo("rhel-8-baseos-debug", [small({ version: "4.18.0", release: "305.el8" })]),
  ]);
  await mirrorList(
    "amazon/2/core/latest/debuginfo/x86_64/mirror.list",
    `${server.url}/amazon/2/core/2.0/debuginfo/$basearch/5f6c2a/`,
  );
  for (const [extra, id] of [
    ["kernel-5.10", "e1"],
    ["kernel-5.4", "e2"],
    ["kernel-5.15", "e3"],
  ]) {
    await mirrorList(
      `amazon/2/extras/${extra}/latest/debuginfo/x86_64/mirror.list`,
      `${server.url}/amazon/2/extras/${extra}/stable/debuginfo/x86_64/${id}`,
    );
  }
});

afterAll(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("Fedora", () => {
  it("reads the release and updates trees, each from the first mirror that has it, newest first", async () => {
    const packages = await discover({
      distro: "fedora",
      release: "31",
      mirror: [`${server.url}/fedora-a`, `${server.url}/fedora-b`],
    });
    expect(kernels(packages)).toEqual([
      "default 5.8.18-100.fc31.x86_64 updates",
      "default 5.8.15-101.fc31.x86_64 updates",
      "default 5.3.7-301.fc31.x86_64 releases",
    ]);
    const built = repos["fedora-a/releases/31/Everything/x86_64/debug/tree"]!.packages[0]!;
    expect(packages[2]).toEqual({
      key: { distro: "fedora", release: "31", arch: "x86_64", kernel: "5.3.7-301.fc31.x86_64" },
      flavor: "default",
      name: "kernel-debuginfo",
      version: "5.3.7-301.fc31",
      url: `${server.url}/fedora-a/releases/31/Everything/x86_64/debug/tree/Packages/k/kernel-debuginfo-5.3.7-301.fc31.x86_64.rpm`,
      sha256: built.sha256,
      size: built.size,
      format: "rpm",
      vmlinuxPath: "usr/lib/debug/lib/modules/5.3.7-301.fc31.x86_64/vmlinux",
      origin: "releases",
    });
  });

  it("keeps only the `latest` newest", async () => {
    const packages = await discover({
      distro: "fedora",
      release: "31",
      latest: 1,
      mirror: [`${server.url}/fedora-a`, `${server.url}/fedora-b`],
    });
    expect(kernels(packages)).toEqual(["default 5.8.18-100.fc31.x86_64 updates"]);
  });

  it("fails as a whole, naming the mirrors, when a repository is on none of them", async () => {
    const error = await discover({ distro: "fedora", release: "31", mirror: [`${server.url}/fedora-a`] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(FetchError);
    expect((error as Error).message).toBe(
      `repository fedora 31 x86_64 updates was found on none of the mirrors tried: ${server.url}/fedora-a/updates/31/Everything/x86_64/debug (absent)`,
    );
  });
});

describe("CentOS", () => {
  it("reads CentOS 8 and Stream 8 together for release 8, the given arch only", async () => {
    const packages = await discover({ distro: "centos", release: "8", mirror: [`${server.url}/centos`] });
    expect(kernels(packages)).toEqual([
      "default 4.18.0-240.el8.x86_64 8-stream",
      "default 4.18.0-193.el8.x86_64 debuginfo",
      "default 4.18.0-147.el8.x86_64 debuginfo",
    ]);
    const arm = await discover({
      distro: "centos",
      release: "8",
      arch: "arm64",
      mirror: [`${server.url}/centos`],
    }).catch((caught: unknown) => caught);
    // The arm64 tree of CentOS 8 is not on this mirror.
    expect(arm).toBeInstanceOf(FetchError);
  });

  it("refuses a release CentOS never had", async () => {
    await expect(discover({ distro: "centos", release: "6", mirror: [`${server.url}/centos`] })).rejects.toThrow(
      ConfigError,
    );
  });
});

describe("Oracle Linux", () => {
  it("keeps UEK and RHCK apart as flavors, skips the -common package and other arches", async () => {
    const packages = await discover({ distro: "ol", release: "7", mirror: [`${server.url}/oracle`] });
    expect(kernels(packages)).toEqual([
      "rhck 3.10.0-1160.el7.x86_64 debuginfo",
      "uek 4.14.35-2047.502.5.el7uek.x86_64 debuginfo",
      "uek 4.14.35-1902.300.11.el7uek.x86_64 debuginfo",
    ]);
    expect(packages[1]?.url).toBe(
      `${server.url}/oracle/ol7/debuginfo/kernel-uek-debuginfo-4.14.35-2047.502.5.el7uek.x86_64.rpm`,
    );
  });

  it("limits `latest` per family and filters flavors", async () => {
    const packages = await discover({
      distro: "ol",
      release: "7",
      latest: 1,
      flavors: ["uek"],
      mirror: [`${server.url}/oracle`],
    });
    expect(kernels(packages)).toEqual(["uek 4.14.35-2047.502.5.el7uek.x86_64 debuginfo"]);
    const error = await discover({
      distro: "ol",
      release: "7",
      flavors: ["rt"],
      mirror: [`${server.url}/oracle`],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe("ol 7 x86_64 has no debug kernels of flavor rt");
    expect((error as ConfigError).hint).toBe("flavors found: rhck, uek");
  });
});

describe("Amazon Linux", () => {
  it("resolves each repository through its mirror.list", async () => {
    const packages = await discover({ distro: "amzn", release: "2", mirror: [`${server.url}/amazon`] });
    expect(kernels(packages)).toEqual([
      "default 5.10.50-44.132.amzn2.x86_64 extras/kernel-5.10",
      "default 4.14.243-185.433.amzn2.x86_64 core",
    ]);
    expect(packages[1]?.url).toBe(
      `${server.url}/amazon/2/core/2.0/debuginfo/x86_64/5f6c2a/Packages/kernel-debuginfo-4.14.243-185.433.amzn2.x86_64.rpm`,
    );
  });

  it("says which mirror list is missing", async () => {
    await expect(
      discover({ distro: "amzn", release: "2", arch: "arm64", mirror: [`${server.url}/amazon`] }),
    ).rejects.toThrow(
      // Both lists are missing and asked for at once: whichever answers first names the failure.
      /the mirror list of amzn 2 arm64 (core|extra) was found on none of the mirrors tried: .*aarch64\/mirror.list \(absent\)/,
    );
  });
});

describe("openSUSE Leap", () => {
  it("reads the signed oss and update repositories, with SUSE's kernel names and vmlinux path", async () => {
    const packages = await discover({
      distro: "opensuse-leap",
      release: "15.5",
      insecure: false,
      keyring: key.keyring,
      mirror: [`${server.url}/opensuse`],
    });
    expect(kernels(packages)).toEqual([
      "azure 5.14.21-150500.33.20-azure update/sle",
      "default 5.14.21-150500.55.39-default update/sle",
      "default 5.14.21-150500.53-default distribution/oss",
    ]);
    expect(packages[1]).toMatchObject({
      name: "kernel-default-debuginfo",
      version: "5.14.21-150500.55.39.1",
      vmlinuxPath: "usr/lib/debug/boot/vmlinux-5.14.21-150500.55.39-default.debug",
    });
  });

  it("refuses the repositories when their signatures come from another key", async () => {
    await mkdir(join(work, "other"), { recursive: true });
    const other = await createSigningKey(join(work, "other"), "someone else");
    await expect(
      discover({
        distro: "opensuse-leap",
        release: "15.5",
        insecure: false,
        keyring: other.keyring,
        mirror: [`${server.url}/opensuse`],
      }),
    ).rejects.toThrow(IntegrityError);
  });
});

describe("Rocky, AlmaLinux, RHEL", () => {
  it("reads Rocky's vault for a minor release", async () => {
    const packages = await discover({
      distro: "rocky",
      release: "9.2",
      mirror: [`${server.url}/rocky-pub`, `${server.url}/rocky-vault`],
    });
    expect(kernels(packages)).toEqual(["default 5.14.0-284.11.1.el9_2.x86_64 BaseOS-debug"]);
  });

  it("reads AlmaLinux's BaseOS debug repository", async () => {
    const packages = await discover({ distro: "almalinux", release: "9", mirror: [`${server.url}/alma`] });
    expect(kernels(packages)).toEqual(["default 5.14.0-70.13.1.el9_0.x86_64 BaseOS-debug"]);
  });

  it("reads RHEL only from the mirror the config names", async () => {
    const packages = await discover({ distro: "rhel", release: "8", mirror: [`${server.url}/rhel-8-baseos-debug`] });
    expect(kernels(packages)).toEqual(["default 4.18.0-305.el8.x86_64 debug"]);
    const error = await discover({ distro: "rhel", release: "8" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe("rhel 8 x86_64 has no public mirror");
  });

  it("reads the repositories `suites` names instead of the release's", async () => {
    const packages = await discover({
      distro: "rhel",
      release: "8",
      mirror: [server.url],
      suites: ["rhel-8-baseos-debug", "/alma/9/BaseOS/debug/x86_64/"],
    });
    expect(kernels(packages)).toEqual([
      "default 5.14.0-70.13.1.el9_0.x86_64 alma/9/BaseOS/debug/x86_64",
      "default 4.18.0-305.el8.x86_64 rhel-8-baseos-debug",
    ]);
  });
});

describe("signature policy", () => {
  it("refuses a source with neither a keyring nor `insecure`", async () => {
    const error = await discover({
      distro: "fedora",
      release: "31",
      insecure: undefined,
      mirror: [`${server.url}/fedora-a`],
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe("fedora 31 x86_64: no keyring to verify repomd.xml signatures with");
    expect((error as ConfigError).hint).toMatch(/`insecure: true`/);
  });

  it("says so when a keyring is given but the repository is unsigned", async () => {
    await expect(
      discover({
        distro: "almalinux",
        release: "9",
        insecure: false,
        keyring: key.keyring,
        mirror: [`${server.url}/alma`],
      }),
    ).rejects.toThrow(/is unsigned/);
  });

  it("marks an unverified source as insecure for the manifest", () => {
    expect(createSource({ distro: "fedora", release: "31", arch: "x86_64", insecure: true }).insecure).toBe(true);
    expect(
      createSource({ distro: "opensuse-leap", release: "15.5", arch: "x86_64", keyring: key.keyring }).insecure,
    ).toBe(false);
  });
});

// What RpmFamilySource gives a distro file that says only where its repositories are.
class MinimalRpmSource extends RpmFamilySource {
  protected defaultMirrors(): readonly string[] {
    return [];
  }
  protected repositories(release: string, arch: RpmArch): RpmRepositorySpec[] {
    if (release !== "1") throw unknownRelease(this.config, "1");
    return [{ path: `os/${release}/${arch}/debug`, origin: "os" }];
  }
}

describe("RpmFamilySource", () => {
  const minimal = (config: Partial<SourceConfig>) =>
    new MinimalRpmSource({ distro: "minimal", release: "1", arch: "arm64", insecure: true, ...config });

  it("takes kernel-debuginfo of the arch as flavor default, named `version-release.arch`, vmlinux in the debuginfo tree; mirrors may end in a slash", async () => {
    const { read, packages } = await readLayout(
      {
        "os/1/aarch64/debug": [
          { version: "6.1.0", release: "1.m1", arch: "aarch64" },
          { version: "6.1.0", release: "1.m1" },
          { name: "kernel-debuginfo-common-aarch64", version: "6.1.0", release: "1.m1", arch: "aarch64" },
        ],
      },
      (base) => minimal({ mirror: [`${base}//`] }),
    );
    expect(read).toEqual(["os/1/aarch64/debug"]);
    expect(
      packages.map(({ key, flavor, name, version, vmlinuxPath }) => ({
        kernel: key.kernel,
        flavor,
        name,
        version,
        vmlinuxPath,
      })),
    ).toEqual([
      {
        kernel: "6.1.0-1.m1.aarch64",
        flavor: "default",
        name: "kernel-debuginfo",
        version: "6.1.0-1.m1",
        vmlinuxPath: "usr/lib/debug/lib/modules/6.1.0-1.m1.aarch64/vmlinux",
      },
    ]);
  });

  it("reads a `suites` path ending in mirror.list through the list", async () => {
    const { read } = await readLayout(emptyRepositories(["elsewhere/mirror.list"]), (base) =>
      minimal({ mirror: [base], suites: ["/elsewhere/mirror.list"] }),
    );
    expect(read).toEqual(["elsewhere/mirror.list"]);
  });

  it("says which releases it knows, and that `suites` can name the repositories instead", async () => {
    const error = await minimal({ release: "2", mirror: ["http://127.0.0.1:1"] })
      .discover()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('minimal release "2" is not one btfmill knows');
    expect((error as ConfigError).hint).toBe(
      "use a VERSION_ID among 1, or list the repository paths under the mirror in `suites`",
    );
  });
});

describe("RpmFamilySource stamp and verify", () => {
  // The minimal distro reading one signed repository of the test mirror, named as a suite.
  const minimalAt = (suite: string) =>
    new MinimalRpmSource({
      distro: "minimal",
      release: "1",
      arch: "arm64",
      keyring: key.keyring,
      mirror: [server.url],
      suites: [suite],
    });
  const asked = async <T>(call: () => Promise<T>): Promise<{ result: T; paths: string[] }> => {
    const before = server.requests.length;
    const result = await call();
    return { result, paths: server.requests.slice(before).map((request) => request.path) };
  };

  it("gives the same stamp on every call over unchanged repositories, the survey's own, from repomd.xml and its signature alone", async () => {
    const leap = () =>
      createSource({
        distro: "opensuse-leap",
        release: "15.5",
        arch: "x86_64",
        keyring: key.keyring,
        mirror: [`${server.url}/opensuse`],
      });
    const { result: first, paths } = await asked(() => leap().stamp());
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(await leap().stamp()).toBe(first);
    expect((await leap().survey()).stamp).toBe(first);
    const repositories = ["distribution/leap/15.5/repo/oss", "update/leap/15.5/oss", "update/leap/15.5/sle"];
    expect(paths.sort()).toEqual(
      repositories.flatMap((path) => [
        `/opensuse/debug/${path}/repodata/repomd.xml`,
        `/opensuse/debug/${path}/repodata/repomd.xml.asc`,
      ]),
    );
  });

  it("changes when createrepo_c runs again over a repository, and the survey agrees", async () => {
    await repo("stamp/createrepo", [small({ version: "6.1.0", release: "1.m1", arch: "aarch64" })], { key });
    const minimal = () => minimalAt("stamp/createrepo");
    const before = await minimal().survey();
    expect(await minimal().stamp()).toBe(before.stamp);
    await repo("stamp/createrepo", [small({ version: "6.1.1", release: "1.m1", arch: "aarch64" })], { key });
    const after = await minimal().stamp();
    expect(after).not.toBe(before.stamp);
    const survey = await minimal().survey();
    expect(survey.stamp).toBe(after);
    expect(survey.packages.map((pkg) => pkg.key.kernel)).toEqual(["6.1.1-1.m1.aarch64", "6.1.0-1.m1.aarch64"]);
  });

  it("stamps Amazon Linux's repositories with their mirror lists, and changes when a list names another repository", async () => {
    const amazon = () =>
      createSource({ distro: "amzn", release: "2", arch: "x86_64", insecure: true, mirror: [`${server.url}/amazon`] });
    const { result: before, paths } = await asked(() => amazon().stamp());
    expect((await amazon().survey()).stamp).toBe(before);
    expect(paths).toContain("/amazon/2/core/latest/debuginfo/x86_64/mirror.list");
    expect(paths).toContain("/amazon/2/core/2.0/debuginfo/x86_64/5f6c2a/repodata/repomd.xml");
    expect(paths.some((path) => path.includes("primary"))).toBe(false);
    const list = "amazon/2/extras/kernel-5.4/latest/debuginfo/x86_64/mirror.list";
    await mirrorList(list, `${server.url}/amazon/2/extras/kernel-5.15/stable/debuginfo/x86_64/e3`);
    try {
      expect(await amazon().stamp()).not.toBe(before);
    } finally {
      await mirrorList(list, `${server.url}/amazon/2/extras/kernel-5.4/stable/debuginfo/x86_64/e2`);
    }
    expect(await amazon().stamp()).toBe(before);
  });

  it("verifies to the stamp and content stamp the survey gives over unchanged repositories, reading no primary", async () => {
    const leap = () =>
      createSource({
        distro: "opensuse-leap",
        release: "15.5",
        arch: "x86_64",
        keyring: key.keyring,
        mirror: [`${server.url}/opensuse`],
      });
    const { result, paths } = await asked(() => leap().verify());
    const survey = await leap().survey();
    expect(result.stamp).toBe(await leap().stamp());
    expect(result.contentStamp).toMatch(/^[0-9a-f]{64}$/);
    expect(result).toEqual({ stamp: survey.stamp, contentStamp: survey.contentStamp });
    expect(paths.length).toBe(6);
    expect(paths.every((path) => /\/repodata\/repomd\.xml(\.asc)?$/.test(path))).toBe(true);
  });

  it("keeps the content stamp when createrepo_c runs again over the same packages, and changes it for other packages", async () => {
    const built = await buildYumRepo(
      join(mirror, "stamp/rerun"),
      [small({ version: "6.1.0", release: "1.m1", arch: "aarch64" })],
      { key },
    );
    const minimal = () => minimalAt("stamp/rerun");
    const before = await minimal().verify();
    // createrepo_c writes the same primary over the same packages, but repomd.xml's revision and
    // timestamps carry the second it ran.
    await sleep(1100);
    await indexYumRepo(built);
    const rerun = await minimal().verify();
    expect(rerun.stamp).not.toBe(before.stamp);
    expect(rerun.contentStamp).toBe(before.contentStamp);
    expect((await minimal().survey()).contentStamp).toBe(rerun.contentStamp);
    await repo("stamp/rerun", [small({ version: "6.1.1", release: "1.m1", arch: "aarch64" })], { key });
    const changed = await minimal().verify();
    expect(changed.contentStamp).not.toBe(before.contentStamp);
    expect((await minimal().survey()).contentStamp).toBe(changed.contentStamp);
  });

  it("verifies Amazon Linux's repositories through their mirror lists, to the survey's content stamp", async () => {
    const amazon = () =>
      createSource({ distro: "amzn", release: "2", arch: "x86_64", insecure: true, mirror: [`${server.url}/amazon`] });
    const { result, paths } = await asked(() => amazon().verify());
    const survey = await amazon().survey();
    expect(result).toEqual({ stamp: survey.stamp, contentStamp: survey.contentStamp });
    expect(paths.some((path) => path.includes("primary"))).toBe(false);
  });

  it("refuses a repomd.xml whose signature does not verify, with the survey's IntegrityError", async () => {
    const built = await buildYumRepo(
      join(mirror, "stamp/forged"),
      [small({ version: "6.1.0", release: "1.m1", arch: "aarch64" })],
      { key },
    );
    const other = await createSigningKey(await mkdtemp(join(work, "keys", "other-")));
    await signRepomd(built, other);
    const forged = minimalAt("stamp/forged");
    const verifyError = await forged.verify().catch((caught: unknown) => caught);
    const surveyError = await forged.survey().catch((caught: unknown) => caught);
    expect(verifyError).toBeInstanceOf(IntegrityError);
    expect((verifyError as Error).message).toMatch(
      /^signature of .*\/stamp\/forged\/repodata\/repomd\.xml does not verify/,
    );
    expect((verifyError as Error).message).toBe((surveyError as Error).message);
  });

  it("fails as the survey does, with a FetchError, when a repository is on no mirror", async () => {
    const missing = createSource({
      distro: "fedora",
      release: "31",
      arch: "x86_64",
      insecure: true,
      mirror: [`${server.url}/nowhere`],
    });
    const stampError = await missing.stamp().catch((caught: unknown) => caught);
    const surveyError = await missing.survey().catch((caught: unknown) => caught);
    // The repositories are asked at once: either may be the first to fail, in either call.
    const unreached =
      /^repository fedora 31 x86_64 (releases|updates) was found on none of the mirrors tried: .*\/nowhere\//;
    for (const error of [stampError, surveyError]) {
      expect(error).toBeInstanceOf(FetchError);
      expect((error as FetchError).message).toMatch(unreached);
    }
  });
});
