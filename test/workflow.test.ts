// The nightly workflow is checked by a workflow linter (action-validator, against the published
// workflow schema), and its regression guard is run on real manifests.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { startStaticServer } from "./helpers/static-server.ts";

const root = new URL("..", import.meta.url).pathname;
const workflow = join(root, ".github/workflows/nightly.yml");
const validator = join(root, "node_modules/.bin/action-validator");

describe("nightly workflow", () => {
  it("passes the workflow linter, and the linter does reject a broken workflow", async () => {
    expect((await execa(validator, [workflow], { reject: false })).exitCode).toBe(0);
    const broken = join(await mkdtemp(join(tmpdir(), "btfmill-workflow-")), "nightly.yml");
    await writeFile(broken, (await readFile(workflow, "utf8")).replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04"));
    expect((await execa(validator, [broken], { reject: false })).exitCode).not.toBe(0);
  });

  it("plans, runs each distro's shards, merges, checks for regressions and publishes with btfmill's own commands", async () => {
    const text = await readFile(workflow, "utf8");
    for (const step of ["btfmill.js plan --config", "btfmill.js run --config", "--shard", "btfmill.js merge shards/*/btf-archive --out btf-archive", "needs.plan.outputs.state-args", "check-regressions.sh", "btfmill.js publish --config"]) {
      expect(text).toContain(step);
    }
    expect(JSON.parse(await readFile(join(root, "config/nightly.json"), "utf8")).sources.length).toBeGreaterThan(5);
  });

  it("the regression guard fails when a kernel that was ok is no longer ok, and passes otherwise", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-regress-"));
    const manifest = (status: string) => ({ kernels: { "debian/12/x86_64/6.1.0-1-amd64": { status }, "debian/12/x86_64/6.1.0-2-amd64": { status: "failed" } } });
    await writeFile(join(dir, "before.json"), JSON.stringify(manifest("ok")));
    await writeFile(join(dir, "same.json"), JSON.stringify(manifest("ok")));
    await writeFile(join(dir, "lost.json"), JSON.stringify(manifest("failed")));
    const script = join(root, ".github/scripts/check-regressions.sh");
    const same = await execa(script, [join(dir, "before.json"), join(dir, "same.json")], { reject: false });
    expect(same.exitCode).toBe(0);
    const lost = await execa(script, [join(dir, "before.json"), join(dir, "lost.json")], { reject: false });
    expect(lost.exitCode).toBe(1);
    expect(lost.stdout).toContain("::error::kernels that were ok are no longer: debian/12/x86_64/6.1.0-1-amd64");
  });

  it("starts jobs from the published site only once a site with an archive manifest exists", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-state-args-"));
    const server = await startStaticServer(dir);
    try {
      const script = join(root, ".github/scripts/state-args.sh");
      expect((await execa(script, [`${server.url}/`])).stdout).toBe("");
      await writeFile(join(dir, "archive-manifest.json"), "{}");
      expect((await execa(script, [`${server.url}/`])).stdout).toBe(`--state ${server.url}`);
    } finally {
      await server.close();
    }
  });
});
