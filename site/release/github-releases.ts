// GitHub's REST API for one release and its assets, as documented (API version 2022-11-28): the
// release by tag (created when absent), its assets page by page (Link rel="next"), an upload to
// the release's `upload_url`, a delete, and a download that GitHub answers with a 302 to its
// download host. Requests go through btfmill's shared undici agents (distros/net), whose redirect
// handling drops the Authorization header when the redirect leaves the API's origin.
import type { Readable } from "node:stream";
import { request } from "undici";
import { ConfigError, FetchError } from "../../archive/errors.ts";
import { agentFor } from "../../distros/net/agents.ts";
import { Attempts } from "../../distros/net/attempts.ts";
import { httpSettings } from "../../distros/net/http-settings.ts";
import { HttpStatusError, isRetryableStatus } from "../../distros/net/http-status-error.ts";
import { describeNetworkFailure } from "../../distros/net/transient.ts";
import { nextPageUrl } from "./link-header.ts";

export interface ReleaseRef {
  id: number;
  tag: string;
  /** As GitHub gives it: `https://uploads.github.com/repos/o/r/releases/1/assets{?name,label}`. */
  uploadUrl: string;
}

export interface ReleaseAsset {
  id: number;
  name: string;
  size: number;
  /** `uploaded`, or `starter` for an upload that broke off (GitHub says it can be deleted). */
  state: string;
}

export interface GitHubTarget {
  /** `OWNER/REPO`. */
  repo: string;
  /** API base, `https://api.github.com` unless GITHUB_API_URL says otherwise (GitHub Enterprise, tests). */
  apiUrl: string;
  /** GH_TOKEN or GITHUB_TOKEN; reads of a public repository work without one. */
  token: string | undefined;
}

/** A GitHub API answer that another attempt would only repeat (401, 403, 404, 422 ...). */
export class GitHubApiError extends FetchError {
  readonly status: number;

  constructor(method: string, url: string, status: number, body: string) {
    super(`${method} ${url} answered HTTP ${status}: ${body.slice(0, 300)}`, {
      package: url,
      hint:
        status === 401 || status === 403
          ? "the token (GH_TOKEN or GITHUB_TOKEN) lacks contents: write on the repository"
          : status === 422
            ? "GitHub refused the asset: over its size limit, or a name already taken"
            : "check --repo, --tag and GITHUB_API_URL",
    });
    this.status = status;
  }
}

const pageSize = 100;

/** When `btfmill release` starts: the repository, API base and token from the options and the environment. */
export function gitHubTarget(repo: string | undefined, env: NodeJS.ProcessEnv = process.env): GitHubTarget {
  const name = repo ?? env.GITHUB_REPOSITORY;
  if (name === undefined || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(name)) {
    throw new ConfigError(`--repo must be OWNER/REPO${name === undefined ? "" : `, not "${name}"`}`, {
      hint: "pass --repo OWNER/REPO (GitHub Actions sets GITHUB_REPOSITORY)",
    });
  }
  const token = env.GH_TOKEN || env.GITHUB_TOKEN || undefined;
  return { repo: name, apiUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, ""), token };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export class GitHubReleases {
  readonly #target: GitHubTarget;

  constructor(target: GitHubTarget) {
    this.#target = target;
  }

  /** When a save or restore starts: the release of `tag`, or undefined when there is none. */
  async findRelease(tag: string): Promise<ReleaseRef | undefined> {
    const url = `${this.#repoUrl()}/releases/tags/${encodeURIComponent(tag)}`;
    const answer = await this.#send("GET", url, {});
    if (answer.status === 404) {
      answer.body.destroy();
      return undefined;
    }
    return releaseRef(await this.#json("GET", url, answer, 200));
  }

  /** When a save finds no release for its tag: creates it (and the tag, on the default branch). */
  async createRelease(tag: string, title: string, notes: string): Promise<ReleaseRef> {
    const url = `${this.#repoUrl()}/releases`;
    const body = JSON.stringify({ tag_name: tag, name: title, body: notes });
    const answer = await this.#send("POST", url, { body, headers: { "content-type": "application/json" } });
    return releaseRef(await this.#json("POST", url, answer, 201));
  }

  /** Every asset of the release, following the Link header's `next` page. */
  async listAssets(release: ReleaseRef): Promise<ReleaseAsset[]> {
    const assets: ReleaseAsset[] = [];
    let url: string | undefined = `${this.#repoUrl()}/releases/${release.id}/assets?per_page=${pageSize}`;
    while (url !== undefined) {
      const answer = await this.#send("GET", url, {});
      const page = await this.#json("GET", url, answer, 200);
      if (!Array.isArray(page)) throw new GitHubApiError("GET", url, answer.status, "the answer is not a list");
      for (const item of page) assets.push(assetOf(item));
      url = nextPageUrl(answer.headers.link);
    }
    return assets;
  }

  /** When a part changed: uploads `size` bytes that `open` streams (called again for each attempt). */
  async upload(release: ReleaseRef, name: string, size: number, open: () => Readable): Promise<ReleaseAsset> {
    // RFC 6570's `{?name,label}` is the template GitHub appends; the query takes its place.
    const url = `${release.uploadUrl.replace(/\{[^}]*\}$/, "")}?name=${encodeURIComponent(name)}`;
    const attempts = new Attempts(httpSettings().retry, undefined);
    for (;;) {
      attempts.begin();
      let failure: unknown;
      try {
        const answer = await this.#sendOnce("POST", url, {
          body: open(),
          headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        });
        if (!isRetryableStatus(answer.status)) return assetOf(await this.#json("POST", url, answer, 201));
        answer.body.destroy();
        failure = new HttpStatusError(url, answer.status, answer.headers);
      } catch (error) {
        failure = error;
      }
      await attempts.retry(failure);
      // A broken upload may leave an empty `starter` asset under the name, which would refuse the next one.
      const left = (await this.listAssets(release)).find((asset) => asset.name === name);
      if (left !== undefined) await this.deleteAsset(left);
    }
  }

  /** When an asset is no longer listed by the index. */
  async deleteAsset(asset: ReleaseAsset): Promise<void> {
    const url = `${this.#repoUrl()}/releases/assets/${asset.id}`;
    const answer = await this.#send("DELETE", url, {});
    answer.body.destroy();
    // Already gone is what was asked.
    if (answer.status !== 204 && answer.status !== 404) {
      throw new GitHubApiError("DELETE", url, answer.status, "");
    }
  }

  /** The asset's bytes: GitHub answers 200 itself or 302 to its download host, which the agent follows. */
  async download(asset: ReleaseAsset): Promise<Readable> {
    const url = `${this.#repoUrl()}/releases/assets/${asset.id}`;
    const answer = await this.#send("GET", url, { headers: { accept: "application/octet-stream" } });
    if (answer.status !== 200) {
      throw new GitHubApiError("GET", url, answer.status, await text(answer.body));
    }
    return answer.body;
  }

  #repoUrl(): string {
    return `${this.#target.apiUrl}/repos/${this.#target.repo}`;
  }

  async #json(method: string, url: string, answer: Answer, expected: number): Promise<unknown> {
    const body = await text(answer.body);
    if (answer.status !== expected) throw new GitHubApiError(method, url, answer.status, body);
    try {
      return JSON.parse(body);
    } catch (cause) {
      throw new FetchError(`${method} ${url} answered HTTP ${answer.status} with a body that is not JSON`, {
        package: url,
        cause,
      });
    }
  }

  // Requests without a body to stream are repeated while GitHub or the network has passing trouble.
  async #send(method: string, url: string, options: { body?: string; headers?: Record<string, string> }) {
    const attempts = new Attempts(httpSettings().retry, undefined);
    for (;;) {
      attempts.begin();
      let failure: unknown;
      try {
        const answer = await this.#sendOnce(method, url, options);
        if (!isRetryableStatus(answer.status)) return answer;
        answer.body.destroy();
        failure = new HttpStatusError(url, answer.status, answer.headers);
      } catch (error) {
        failure = error;
      }
      await attempts.retry(failure);
    }
  }

  async #sendOnce(
    method: string,
    url: string,
    options: { body?: string | Readable; headers?: Record<string, string> },
  ): Promise<Answer> {
    const settings = httpSettings();
    const headers: Record<string, string> = {
      "user-agent": "btfmill",
      accept: "application/vnd.github+json",
      "x-github-api-version": "2022-11-28",
      ...options.headers,
    };
    if (this.#target.token !== undefined) headers.authorization = `Bearer ${this.#target.token}`;
    try {
      const response = await request(url, {
        method: method as "GET",
        headers,
        body: options.body,
        dispatcher: agentFor(settings),
        headersTimeout: settings.headersTimeoutMs,
        bodyTimeout: settings.idleTimeoutMs,
      });
      response.body.on("error", () => {});
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (cause) {
      throw new FetchError(`${method} ${url} failed: ${describeNetworkFailure(cause, settings)}`, {
        package: url,
        cause,
        hint: "check GITHUB_API_URL and the network",
      });
    }
  }
}

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function releaseRef(value: unknown): ReleaseRef {
  const release = value as { id?: unknown; tag_name?: unknown; upload_url?: unknown };
  if (typeof release.id !== "number" || typeof release.upload_url !== "string") {
    throw new FetchError("GitHub's release has no id or upload_url", { hint: "check GITHUB_API_URL" });
  }
  return { id: release.id, tag: String(release.tag_name), uploadUrl: release.upload_url };
}

function assetOf(value: unknown): ReleaseAsset {
  const asset = value as { id?: unknown; name?: unknown; size?: unknown; state?: unknown };
  if (typeof asset.id !== "number" || typeof asset.name !== "string" || typeof asset.size !== "number") {
    throw new FetchError("GitHub listed an asset without id, name or size", { hint: "check GITHUB_API_URL" });
  }
  return { id: asset.id, name: asset.name, size: asset.size, state: String(asset.state ?? "uploaded") };
}
