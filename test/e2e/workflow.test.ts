// The scheduled workflow is checked by a workflow linter (action-validator, against the published
// workflow schema), and its scripts (the regression guard, whether an hour has anything new) run
// on manifests and plans of the shapes btfmill writes.
import { mkdtemp, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { readManifest, writeManifest, type StateRoot } from "../../archive/state.ts";
import type { PlanPreview } from "../../pipeline/plan-preview.ts";
import { makeSiteArchive } from "../fixtures/site-archive.ts";
import { startStaticServer } from "../helpers/static-server.ts";

const root = new URL("../..", import.meta.url).pathname;
const workflow = join(root, ".github/workflows/nightly.yml");
const validator = join(root, "node_modules/.bin/action-validator");
const cli = join(root, "bin/btfmill.js");

describe("scheduled workflow", () => {
  it("passes the workflow linter, and the linter does reject a broken workflow", async () => {
    expect((await execa(validator, [workflow], { reject: false })).exitCode).toBe(0);
    const broken = join(await mkdtemp(join(tmpdir(), "btfmill-workflow-")), "nightly.yml");
    await writeFile(
      broken,
      (await readFile(workflow, "utf8")).replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04"),
    );
    expect((await execa(validator, [broken], { reject: false })).exitCode).not.toBe(0);
  });

  it("plans, runs each distro's shards, merges, checks for regressions and publishes with btfmill's own commands", async () => {
    const text = await readFile(workflow, "utf8");
    for (const step of [
      "btfmill.js plan --config",
      "btfmill.js run --config",
      "--shard",
      "btfmill.js merge shards/*/btf-archive --out btf-archive",
      "needs.plan.outputs.state-args",
      "check-regressions.sh",
      "btfmill.js publish --config",
    ]) {
      expect(text).toContain(step);
    }
    // The archive lives in release assets per source: a shard restores its distro's; publish the
    // state and the sources the plan gives work, and saves keeping the other sources' assets.
    expect(text).toContain(
      `btfmill.js release restore --config "$CONFIG" --repo "$GITHUB_REPOSITORY" --tag archive --distro "\${{ matrix.distro }}"`,
    );
    expect(text).toContain(
      'btfmill.js release restore --config "$CONFIG" --repo "$GITHUB_REPOSITORY" --tag archive --sources-from plan.json\n',
    );
    expect(text).not.toContain(
      'btfmill.js release restore --config "$CONFIG" --repo "$GITHUB_REPOSITORY" --tag archive\n',
    );
    // The regression check compares whole manifests: the archive's manifest.json is a root without kernels.
    expect(text).toContain('btfmill.js list --config "$CONFIG" --json > previous-manifest.json');
    expect(text).toContain('btfmill.js list --config "$CONFIG" --json > merged-manifest.json');
    expect(text).toContain(".github/scripts/check-regressions.sh previous-manifest.json merged-manifest.json");
    expect(text).toContain(
      'btfmill.js release save --config "$CONFIG" --repo "$GITHUB_REPOSITORY" --tag archive --keep-absent\n',
    );
    expect(text).not.toContain("save-archive.sh");
    expect(text).not.toContain("restore-archive.sh");
    expect(JSON.parse(await readFile(join(root, "config/nightly.json"), "utf8")).sources.length).toBeGreaterThan(5);
  });

  it("checks hourly, one run at a time, never cancelling a run in progress, and skips shards and publish when the plan finds nothing new", async () => {
    const text = await readFile(workflow, "utf8");
    expect(text).toContain('- cron: "17 * * * *"');
    expect(text).toMatch(/concurrency:\n  group: nightly\n  cancel-in-progress: false\n/);
    expect(text).toContain(
      'echo "has-work=$(.github/scripts/has-work.sh plan.json site-manifest.json)" >> "$GITHUB_OUTPUT"',
    );
    const gate = "(needs.plan.outputs.has-work == 'true' || github.event_name == 'workflow_dispatch')";
    expect(text).toContain(
      `  shard:\n    needs: plan\n    # A manual run always goes through (it may ask to retry failed kernels).\n    if: \${{ needs.plan.outputs.has-work == 'true' || github.event_name == 'workflow_dispatch' }}\n`,
    );
    expect(text).toContain(`    if: \${{ !cancelled() && needs.plan.result == 'success' && ${gate} }}\n`);
  });

  it("an hour has work when the plan records a kernel, minifies, sees a source change state, or the site's reads are a day old", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-has-work-"));
    const script = join(root, ".github/scripts/has-work.sh");
    const now = Date.parse("2026-12-02T12:00:00Z");
    const plan = (changes: Partial<PlanPreview> = {}): PlanPreview => ({
      sources: [
        { source: "debian/12/x86_64", status: "ok", unchanged: 1, settled: true },
        { source: "ubuntu/20.04/x86_64", status: "ok", unchanged: 0, absentSuites: ["focal-security"] },
      ],
      kernels: [],
      minify: [],
      downloadBytes: 0,
      ...changes,
    });
    const site = (checkedAt: string, ubuntu: "ok" | "stale" = "ok"): StateRoot => ({
      schemaVersion: 2,
      generator: "btfmill",
      updatedAt: checkedAt,
      sources: {
        "debian/12/x86_64": { state: { status: "ok", refreshedAt: checkedAt, checkedAt } },
        "ubuntu/20.04/x86_64": {
          state: {
            status: ubuntu,
            ...(ubuntu === "stale" ? { reason: "FetchError: mirror down" } : {}),
            checkedAt,
          },
        },
      },
    });
    const hasWork = async (name: string, planned: PlanPreview | string, published?: StateRoot) => {
      await writeFile(join(dir, `${name}.plan.json`), typeof planned === "string" ? planned : JSON.stringify(planned));
      if (published) await writeFile(join(dir, `${name}.site.json`), JSON.stringify(published));
      const result = await execa(script, [join(dir, `${name}.plan.json`), join(dir, `${name}.site.json`)], {
        env: { NOW: String(now / 1000) },
      });
      return `${result.stdout} ${result.stderr}`;
    };
    const hourAgo = new Date(now - 3600_000).toISOString();
    expect(await hasWork("quiet", plan(), site(hourAgo))).toBe(
      "false no work: nothing new since the site was published 3600 s ago",
    );
    const newKernel = plan({
      kernels: [
        {
          kernel: "debian/12/x86_64/6.1.0-2-cloud-amd64",
          action: "skip-has-btf",
          url: "http://127.0.0.1/y.deb",
          size: 1,
        },
      ],
    });
    expect(await hasWork("new", newKernel, site(hourAgo))).toBe("true work: 1 kernel(s) to record");
    expect(
      await hasWork(
        "minify",
        plan({ minify: [{ kernel: "debian/12/x86_64/6.1.0-1-cloud-amd64", sets: ["all"] }] }),
        site(hourAgo),
      ),
    ).toBe("true work: 1 kernel(s) to minify");
    expect(await hasWork("recovered", plan(), site(hourAgo, "stale"))).toBe(
      "true work: source state changed: ubuntu/20.04/x86_64",
    );
    expect(
      await hasWork(
        "still-stale",
        plan({
          sources: [
            { source: "debian/12/x86_64", status: "ok", unchanged: 1 },
            { source: "ubuntu/20.04/x86_64", status: "stale", reason: "FetchError: mirror down", unchanged: 0 },
          ],
        }),
        site(hourAgo, "stale"),
      ),
    ).toBe("false no work: nothing new since the site was published 3600 s ago");
    expect(await hasWork("day-old", plan(), site(new Date(now - 86_400_000).toISOString()))).toBe(
      "true work: the site's sources were last read 86400 s ago",
    );
    expect(await hasWork("first", plan())).toBe("true work: no published site yet");
    expect(await hasWork("crashed", "")).toMatch(/^true work: no readable plan in /);
  });

  it("the regression guard fails when a kernel that was ok is no longer ok, and passes otherwise", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-regress-"));
    const manifest = (status: string) => ({
      kernels: { "debian/12/x86_64/6.1.0-1-amd64": { status }, "debian/12/x86_64/6.1.0-2-amd64": { status: "failed" } },
    });
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

  it("the regression guard compares the whole manifests btfmill list --json prints of a partitioned archive", async () => {
    const dir = await mkdtemp(join(tmpdir(), "btfmill-regress-list-"));
    const archive = await makeSiteArchive(dir);
    await rename(archive.root, join(dir, "btf-archive"));
    const list = async (name: string) => {
      const listed = await execa(process.execPath, [cli, "list", "--json"], { cwd: dir });
      await writeFile(join(dir, name), listed.stdout);
      return join(dir, name);
    };
    const before = await list("previous-manifest.json");
    const manifest = await readManifest(join(dir, "btf-archive"));
    delete manifest.kernels[archive.keys.arm64];
    await writeManifest(join(dir, "btf-archive"), manifest);
    const after = await list("merged-manifest.json");
    const script = join(root, ".github/scripts/check-regressions.sh");
    const same = await execa(script, [before, before], { reject: false });
    expect(same.exitCode).toBe(0);
    expect(same.stdout).toContain("ok kernels: 3 before, 3 after");
    const lost = await execa(script, [before, after], { reject: false });
    expect(lost.exitCode).toBe(1);
    expect(lost.stdout).toContain(`::error::kernels that were ok are no longer: ${archive.keys.arm64}`);
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

describe("pull-request workflow", () => {
  const testWorkflow = join(root, ".github/workflows/test.yml");

  it("passes the workflow linter and runs .ci/run as root in Debian 12 on every pull request", async () => {
    expect((await execa(validator, [testWorkflow], { reject: false })).exitCode).toBe(0);
    const text = await readFile(testWorkflow, "utf8");
    expect(text).toMatch(/\non:\n  pull_request:\n/);
    expect(text).toContain("image: debian:bookworm");
    expect(text).toContain("options: --privileged");
    expect(text).toContain("run: bash .ci/run");
  });
});
