// The first mirror that has what is wanted answers; one that lacks it or cannot be reached is
// passed over and named; anything else (a bad signature, a cancel) stops the search. The mirrors
// are real HTTP servers on 127.0.0.1 (one stopped, so nothing listens on its port).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntegrityError } from "../../../archive/errors.ts";
import { fetchBytes } from "../../../distros/net/http.ts";
import { searchMirrors } from "../../../distros/repos/first-mirror.ts";
import { rejection } from "../../helpers/rejection.ts";
import { startStaticServer, type StaticServer } from "../../helpers/static-server.ts";

let work: string;
let lacking: StaticServer;
let having: StaticServer;
let stoppedUrl: string;

const read = (base: string) =>
  fetchBytes(`${base}/dists/bookworm/Release`, {
    maxBytes: 1024,
    allowMissing: true,
    http: { connectTimeoutMs: 2000, retry: { attempts: 1 } },
  }).then((bytes) => bytes?.toString("utf8"));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "btfmill-first-mirror-"));
  await mkdir(join(work, "having", "dists", "bookworm"), { recursive: true });
  await mkdir(join(work, "lacking"), { recursive: true });
  await writeFile(join(work, "having", "dists", "bookworm", "Release"), "Suite: bookworm\n");
  lacking = await startStaticServer(join(work, "lacking"));
  having = await startStaticServer(join(work, "having"));
  const stopped = await startStaticServer(join(work, "lacking"));
  stoppedUrl = stopped.url;
  await stopped.close();
});

afterAll(async () => {
  await lacking.close();
  await having.close();
  await rm(work, { recursive: true, force: true });
});

describe("searchMirrors", () => {
  it("passes over a mirror that lacks it and one that is down, and answers with the next that has it", async () => {
    const search = await searchMirrors([lacking.url, stoppedUrl, having.url], (base) => base, read, undefined);
    expect(search.found).toBe("Suite: bookworm\n");
    expect(search.tried[0]).toBe(`${lacking.url} (absent)`);
    expect(search.tried[1]).toMatch(new RegExp(`^${stoppedUrl} \\(.+\\)$`));
    expect(search.tried).toHaveLength(2);
    expect(search.unreachable).toBe(true);
  });

  it("asks no mirror after the first that has it", async () => {
    const before = lacking.requests.length;
    const search = await searchMirrors([having.url, lacking.url], (base) => base, read, undefined);
    expect(search).toEqual({ found: "Suite: bookworm\n", tried: [], unreachable: false });
    expect(lacking.requests.length).toBe(before);
  });

  it("answers nothing, with every mirror tried, when none has it; unreachable only when one was down", async () => {
    expect(await searchMirrors([lacking.url], (base) => base, read, undefined)).toEqual({
      found: undefined,
      tried: [`${lacking.url} (absent)`],
      unreachable: false,
    });
    const down = await searchMirrors([stoppedUrl, lacking.url], (base) => base, read, undefined);
    expect(down.found).toBeUndefined();
    expect(down.unreachable).toBe(true);
  });

  it("stops at an error that is not a fetch failure (a bad signature) instead of trying the next mirror", async () => {
    const before = having.requests.length;
    const error = await rejection(
      searchMirrors(
        [lacking.url, having.url],
        (base) => base,
        async (base) => {
          if ((await read(base)) === undefined) return undefined;
          throw new IntegrityError(`${base}: InRelease signature does not verify`);
        },
        undefined,
      ),
    );
    expect(error).toBeInstanceOf(IntegrityError);
    const lateMirror = await rejection(
      searchMirrors(
        [having.url, lacking.url],
        (base) => base,
        () => Promise.reject(new IntegrityError("bad signature")),
        undefined,
      ),
    );
    expect(lateMirror.message).toBe("bad signature");
    expect(having.requests.length).toBe(before + 1);
  });

  it("stops at a fetch failure once the search is cancelled, rather than recording it and going on", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejection(
      searchMirrors(
        [stoppedUrl, having.url],
        (base) => base,
        (base) => read(base),
        controller.signal,
      ),
    );
    expect(error.name).toBe("FetchError");
  });
});
