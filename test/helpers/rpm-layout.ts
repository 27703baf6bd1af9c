// A mirror laid out as an RPM distro's: yum repositories (rpmbuild, createrepo_c) at the given
// paths, or behind a mirror.list when the path names one, served on 127.0.0.1. Reading it, a
// source shows which repositories it asks for: one it asks for that is not there fails its discovery.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { DistroSource, KernelPackage } from "../../distros/types.ts";
import { buildYumRepo, kernelDebuginfo, type KernelDebuginfoOptions } from "../fixtures/rpm-repo.ts";
import { startStaticServer } from "./static-server.ts";

/** Repository path under the mirror -> the debug kernel packages in it (none: an empty repository). */
export type Layout = Readonly<Record<string, readonly KernelDebuginfoOptions[]>>;

/** When a test checks a distro's repository layout: the paths given as repositories (an empty one each). */
export function emptyRepositories(paths: readonly string[]): Layout {
  return Object.fromEntries(paths.map((path) => [path, []]));
}

/**
 * When a test checks a distro's repository layout: serves `layout` (a path ending in mirror.list
 * as a list naming the repository), has `source(mirror)` discover from it, and returns the paths
 * it read, sorted, and what it found. Discovery fails (FetchError) when the source asks for another path.
 */
export async function readLayout(
  layout: Layout,
  source: (mirror: string) => DistroSource,
): Promise<{ read: string[]; packages: KernelPackage[] }> {
  const work = await mkdtemp(join(tmpdir(), "btfmill-rpm-layout-"));
  try {
    const template = join(work, "template");
    await buildYumRepo(template, []);
    const root = join(work, "mirror");
    const paths = Object.keys(layout);
    const listed = paths.filter((path) => path.endsWith("mirror.list"));
    for (const path of paths) {
      const repository = join(root, listed.includes(path) ? join(dirname(path), "listed") : path);
      const packages = layout[path] ?? [];
      if (packages.length > 0) {
        await buildYumRepo(
          repository,
          packages.map((options) => kernelDebuginfo({ trailingBytes: 0, ...options })),
        );
      } else {
        await mkdir(repository, { recursive: true });
        await cp(join(template, "repodata"), join(repository, "repodata"), { recursive: true });
      }
    }
    const server = await startStaticServer(root);
    try {
      for (const path of listed) await writeFile(join(root, path), `${server.url}/${join(dirname(path), "listed")}/\n`);
      const packages = await source(server.url).discover();
      const read = server.requests
        .filter((request) => request.status === 200)
        .map((request) => request.path.slice(1))
        .flatMap((path) =>
          path.endsWith("mirror.list")
            ? [path]
            : path.endsWith("/repodata/repomd.xml")
              ? [path.slice(0, -"/repodata/repomd.xml".length)]
              : [],
        )
        .filter((path) => !path.endsWith("/listed"));
      return { read: [...new Set(read)].sort(), packages };
    } finally {
      await server.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
