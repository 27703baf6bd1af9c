import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../pipeline/config.ts";
import { ConfigError } from "../../archive/errors.ts";
import { configureHttp, defaultHttpSettings, httpSettings } from "../../distros/net/http-settings.ts";

describe("config", () => {
  it("without a config file the built-in default is the newest Debian 12 cloud-amd64 kernel", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-config-"));
    const config = await loadConfig(undefined, dir);
    expect(config.origin).toBe("built-in defaults");
    expect(config.archive).toBe(join(dir, "btf-archive"));
    expect(config.sources).toEqual([
      {
        distro: "debian",
        release: "12",
        arch: "x86_64",
        flavors: ["cloud-amd64"],
        latest: 1,
        mirror: undefined,
        keyring: undefined,
      },
    ]);
  });

  it("resolves paths against the config file's folder and accepts one mirror as a string", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-config-"));
    const file = join(dir, "my.json");
    await writeFile(
      file,
      JSON.stringify({
        archive: "out",
        sources: [
          {
            distro: "debian",
            release: "12",
            arch: "arm64",
            mirror: "http://127.0.0.1:8080/debian",
            keyring: "keys/test.gpg",
          },
        ],
        objects: { tracee: ["objs/tracee.bpf.o"] },
      }),
    );
    const config = await loadConfig(file);
    expect(config.archive).toBe(join(dir, "out"));
    expect(config.sources[0]?.mirror).toEqual(["http://127.0.0.1:8080/debian"]);
    expect(config.sources[0]?.keyring).toBe(join(dir, "keys/test.gpg"));
    expect(config.objects.tracee).toEqual([{ path: join(dir, "objs/tracee.bpf.o") }]);
  });

  it("names every problem of a bad config with its path", () => {
    const bad = {
      archive: "",
      sources: [{ distro: "debian", release: "12", arch: "aarch64", latest: 0, mirror: "ftp://x", colour: "blue" }],
    };
    let error: unknown;
    try {
      parseConfig(bad, "bad.json", "/");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("bad.json is not a valid config");
    expect(message).toContain('sources.0.arch: must be "x86_64" or "arm64"');
    expect(message).toContain("sources.0.latest");
    expect(message).toContain("sources.0.mirror");
    expect(message).toContain("colour");
    expect(message).toContain("archive");
  });

  it("takes `proposed` on an Ubuntu source only, and not beside a `suites` list it would not change", () => {
    const ubuntu = { distro: "ubuntu", release: "20.04", arch: "x86_64", insecure: true };
    expect(parseConfig({ sources: [{ ...ubuntu, proposed: false }] }, "ok.json", "/").sources[0]?.proposed).toBe(false);
    expect(() => parseConfig({ sources: [{ ...ubuntu, proposed: "no" }] }, "bad.json", "/")).toThrow(
      /sources\.0\.proposed: /,
    );
    expect(() =>
      parseConfig({ sources: [{ distro: "debian", release: "12", arch: "x86_64", proposed: false }] }, "bad.json", "/"),
    ).toThrow("sources.0.proposed: is an Ubuntu setting (its -proposed suite)");
    expect(() =>
      parseConfig({ sources: [{ ...ubuntu, suites: ["focal"], proposed: false }] }, "bad.json", "/"),
    ).toThrow("sources.0.proposed: does nothing beside `suites`: leave the -proposed suite out of that list instead");
  });

  it("reports a config file that is not JSON, and a missing --config file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-config-"));
    await writeFile(join(dir, "broken.json"), "{ sources: [");
    await expect(loadConfig(join(dir, "broken.json"))).rejects.toThrow(/is not JSON/);
    await expect(loadConfig(join(dir, "absent.json"))).rejects.toThrow(/cannot read config/);
  });

  it("takes an http block for timeouts, connections per host and retries, and refuses bad values", () => {
    const config = parseConfig(
      { http: { idleTimeoutMs: 5000, connectionsPerHost: 2, retry: { attempts: 6 } } },
      "net.json",
      "/",
    );
    expect(config.http).toEqual({ idleTimeoutMs: 5000, connectionsPerHost: 2, retry: { attempts: 6 } });
    expect(() => parseConfig({ http: { retry: { attempts: 0 } } }, "net.json", "/")).toThrow(/http\.retry\.attempts/);
    expect(() => parseConfig({ http: { idleTimeout: 5 } }, "net.json", "/")).toThrow(/idleTimeout/);
  });

  it("the configured http block becomes the process's defaults, under any per-call override", () => {
    try {
      configureHttp({ idleTimeoutMs: 5000, retry: { attempts: 6 } });
      expect(httpSettings()).toMatchObject({
        idleTimeoutMs: 5000,
        connectTimeoutMs: defaultHttpSettings.connectTimeoutMs,
        retry: { attempts: 6, baseDelayMs: 500 },
      });
      expect(httpSettings({ retry: { attempts: 1 } }).retry.attempts).toBe(1);
    } finally {
      configureHttp({});
    }
    expect(httpSettings()).toEqual(defaultHttpSettings);
  });
});
