// `btfmill publish` as a command: the archive named by the config, --out, --full, --json; and
// `btfmill serve` refusing a folder that does not exist.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishCommand } from "../../../pipeline/commands/publish-command.ts";
import { serveCommand } from "../../../pipeline/commands/serve-command.ts";
import { ConfigError } from "../../../archive/errors.ts";
import { makeSiteArchive, type SiteArchive } from "../../fixtures/site-archive.ts";
import { readSiteManifest } from "../../../site/read-manifest.ts";
import { openSite } from "../../../site/site-source.ts";

function context<V>(values: V, positionals: string[] = []) {
  const lines: string[] = [];
  return {
    values,
    positionals,
    stdout: (line: string) => void lines.push(line),
    stderr: (line: string) => void lines.push(line),
    lines,
  };
}

describe("publish and serve commands", () => {
  let work: string;
  let archive: SiteArchive;
  let config: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "btfmill-site-cli-"));
    archive = await makeSiteArchive(work);
    config = join(work, "btfmill.json");
    await writeFile(config, JSON.stringify({ archive: archive.root }));
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("publish reads the config's archive and reports kernels and bundles", async () => {
    const out = join(work, "site");
    const run = context({ config, out, full: true });
    expect(await publishCommand(run)).toBe(0);
    expect(run.lines[1]).toBe("kernels: 3 with BTF, 1 failed, 1 already have BTF");
    expect(run.lines).toContain("stale source ubuntu/22.04/x86_64: FetchError: connection refused");
    const manifest = await readSiteManifest(openSite(out));
    expect(manifest.kernels.filter((kernel) => kernel.files.full)).toHaveLength(3);
    const json = context({ config, out, json: true });
    expect(await publishCommand(json)).toBe(0);
    expect(JSON.parse(json.lines.join("\n"))).toMatchObject({
      out,
      kernels: { ok: 3, failed: 1, skipped: 1 },
      sets: ["all", "net", "probes"],
    });
  });

  it("serve refuses a folder that does not exist and a port that is not one", async () => {
    await expect(serveCommand(context({}, [join(work, "nowhere")]))).rejects.toThrow(/does not exist/);
    await expect(serveCommand(context({ port: "http" }, [work]))).rejects.toThrow(ConfigError);
  });
});
