// Every request stays inside the served folder, whatever its encoding or the symlinks in the tree.
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRequestPath } from "../../site/serve-path.ts";

let work: string;
let root: string;

beforeAll(async () => {
  work = await realpath(await mkdtemp(join(tmpdir(), "btfmill-serve-path-")));
  root = join(work, "site");
  await mkdir(join(root, "ubuntu", "20.04", "x86_64"), { recursive: true });
  await writeFile(join(root, "ubuntu", "20.04", "x86_64", "5.8.0-63-generic.btf"), "btf");
  await writeFile(join(work, "secret"), "outside");
  await symlink(join(work, "secret"), join(root, "planted"));
  await symlink("ubuntu/20.04", join(root, "inside-link"));
  await mkdir(join(work, "site-evil"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("checkRequestPath", () => {
  it("accepts a path in the tree, decoded, and a missing one (for send's 404)", async () => {
    expect(await checkRequestPath(root, "/ubuntu/20.04/x86_64/5.8.0-63-generic.btf")).toEqual({
      kind: "ok",
      path: "/ubuntu/20.04/x86_64/5.8.0-63-generic.btf",
    });
    expect(await checkRequestPath(root, "/ubuntu/20.04/x86_64/5.8.0%2D63-generic.btf")).toEqual({
      kind: "ok",
      path: "/ubuntu/20.04/x86_64/5.8.0-63-generic.btf",
    });
    expect(await checkRequestPath(root, "/debian/12/x86_64/absent.btf")).toEqual({
      kind: "ok",
      path: "/debian/12/x86_64/absent.btf",
    });
  });

  it("forbids climbing out with .., plain, percent-encoded or with backslashes", async () => {
    for (const raw of ["/../secret", "/ubuntu/%2e%2e/%2e%2e/secret", "/ubuntu/..%2f..%2fsecret", "/..\\secret"]) {
      expect(await checkRequestPath(root, raw), raw).toEqual({ kind: "forbidden" });
    }
  });

  it("forbids a symlink planted in the tree that leads outside it, and allows one that stays inside", async () => {
    expect(await checkRequestPath(root, "/planted")).toEqual({ kind: "forbidden" });
    expect((await checkRequestPath(root, "/inside-link/x86_64/5.8.0-63-generic.btf")).kind).toBe("ok");
  });

  it("treats a sibling folder whose name starts like the root's as outside", async () => {
    const siteLink = join(root, "sibling");
    await symlink(join(work, "site-evil"), siteLink);
    expect(await checkRequestPath(root, "/sibling")).toEqual({ kind: "forbidden" });
  });

  it("refuses a path that does not decode, holds a NUL, or is not absolute, as a bad request", async () => {
    for (const raw of ["/%E0%A4%A", "/a%00b", "relative/path"]) {
      expect(await checkRequestPath(root, raw), raw).toEqual({ kind: "bad-request" });
    }
  });
});
