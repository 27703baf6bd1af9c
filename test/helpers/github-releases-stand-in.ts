// A stand-in for GitHub's releases API on 127.0.0.1, answering as docs.github.com/rest/releases
// documents: the API host (release by tag, create, list assets paged with Link headers, delete,
// download as a 302), the uploads host the release's `upload_url` names (201, or 422 when the
// asset is over the size limit or its name is taken), and the download host the 302 points at.
// Three servers, so the redirect leaves the API's origin as GitHub's does. It logs every request.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenOnLoopback, type Listening } from "./loopback-listen.ts";

export interface StoredAsset {
  id: number;
  name: string;
  size: number;
  state: "uploaded" | "starter";
  data: Buffer;
}

export interface StoredRelease {
  id: number;
  tag: string;
  assets: StoredAsset[];
}

export interface StandInRequest {
  host: "api" | "uploads" | "download";
  method: string;
  /** Path and query as asked. */
  url: string;
  status: number;
  /** Whether the request carried an Authorization header. */
  authorized: boolean;
}

export interface StandInOptions {
  /** OWNER/REPO it serves. */
  repo: string;
  /** The token writes need (`Authorization: Bearer <token>`). */
  token: string;
  /** The largest asset accepted (GitHub: under 2 GiB). */
  maxAssetBytes?: number;
  /** The largest `per_page` honoured (GitHub: 100). */
  maxPerPage?: number;
}

export interface GitHubStandIn {
  /** What GITHUB_API_URL would be. */
  apiUrl: string;
  releases: StoredRelease[];
  requests: StandInRequest[];
  /** Lowers (or raises) the asset size limit for the rest of the test. */
  maxAssetBytes: number;
  maxPerPage: number;
  /** Puts an asset on the release of `tag` (made if need be) as an earlier upload would have. */
  addAsset(tag: string, name: string, data: Buffer): void;
  close(): Promise<void>;
}

/** When a test saves or restores an archive: a releases API on loopback ports until close(). */
export async function startGitHubStandIn(options: StandInOptions): Promise<GitHubStandIn> {
  let nextId = 1;
  const releases: StoredRelease[] = [];
  const requests: StandInRequest[] = [];
  const prefix = `/repos/${options.repo}`;
  let uploads: Listening | undefined;
  let downloads: Listening | undefined;
  const standIn = {
    apiUrl: "",
    releases,
    requests,
    maxAssetBytes: options.maxAssetBytes ?? 2 ** 31 - 1,
    maxPerPage: options.maxPerPage ?? 100,
    addAsset: (tag: string, name: string, data: Buffer) => {
      let release = releases.find((each) => each.tag === tag);
      if (release === undefined) {
        release = { id: nextId++, tag, assets: [] };
        releases.push(release);
      }
      release.assets.push({ id: nextId++, name, size: data.length, state: "uploaded", data });
    },
    close: async () => {},
  };

  const log = (host: StandInRequest["host"], request: IncomingMessage, response: ServerResponse, status: number) => {
    requests.push({
      host,
      method: request.method ?? "GET",
      url: request.url ?? "/",
      status,
      authorized: request.headers.authorization !== undefined,
    });
    response.statusCode = status;
  };
  const json = (
    host: StandInRequest["host"],
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    body: unknown,
  ) => {
    log(host, request, response, status);
    response.setHeader("content-type", "application/json; charset=utf-8");
    response.end(JSON.stringify(body));
  };
  const authorized = (request: IncomingMessage) => request.headers.authorization === `Bearer ${options.token}`;
  const releaseJson = (release: StoredRelease) => ({
    id: release.id,
    tag_name: release.tag,
    name: "btfmill archive",
    url: `${standIn.apiUrl}${prefix}/releases/${release.id}`,
    assets_url: `${standIn.apiUrl}${prefix}/releases/${release.id}/assets`,
    upload_url: `${uploads!.url}${prefix}/releases/${release.id}/assets{?name,label}`,
    assets: release.assets.map(assetJson),
  });
  const assetJson = (asset: StoredAsset) => ({
    id: asset.id,
    url: `${standIn.apiUrl}${prefix}/releases/assets/${asset.id}`,
    name: asset.name,
    label: "",
    state: asset.state,
    content_type: "application/octet-stream",
    size: asset.size,
    download_count: 0,
  });
  const findAsset = (id: number) => {
    for (const release of releases) {
      const asset = release.assets.find((each) => each.id === id);
      if (asset !== undefined) return { release, asset };
    }
    return undefined;
  };

  const api = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    const notFound = () =>
      json("api", request, response, 404, {
        message: "Not Found",
        documentation_url: "https://docs.github.com/rest",
      });
    // Paths under /repositories/1/ are where GitHub's own Link headers point.
    const base = [prefix, "/repositories/1"].find((each) => path.startsWith(`${each}/`));
    if (base === undefined) return notFound();
    const rest = path.slice(base.length);
    const byTag = /^\/releases\/tags\/([^/]+)$/.exec(rest);
    const list = /^\/releases\/(\d+)\/assets$/.exec(rest);
    const asset = /^\/releases\/assets\/(\d+)$/.exec(rest);
    if (request.method === "GET" && byTag?.[1] !== undefined) {
      const release = releases.find((each) => each.tag === decodeURIComponent(byTag[1]!));
      return release === undefined ? notFound() : json("api", request, response, 200, releaseJson(release));
    }
    if (request.method === "POST" && rest === "/releases") {
      if (!authorized(request)) return json("api", request, response, 401, { message: "Requires authentication" });
      return readBody(request).then((body) => {
        const tag = (JSON.parse(body.toString("utf8")) as { tag_name: string }).tag_name;
        if (releases.some((each) => each.tag === tag)) {
          return json("api", request, response, 422, {
            message: "Validation Failed",
            errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }],
          });
        }
        const release = { id: nextId++, tag, assets: [] };
        releases.push(release);
        json("api", request, response, 201, releaseJson(release));
      });
    }
    if (request.method === "GET" && list?.[1] !== undefined) {
      const release = releases.find((each) => each.id === Number(list[1]));
      if (release === undefined) return notFound();
      const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30), standIn.maxPerPage);
      const page = Number(url.searchParams.get("page") ?? 1);
      const last = Math.max(1, Math.ceil(release.assets.length / perPage));
      const pageUrl = (n: number) =>
        `<${standIn.apiUrl}/repositories/1/releases/${release.id}/assets?per_page=${perPage}&page=${n}>`;
      const links = [
        ...(page < last ? [`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(last)}; rel="last"`] : []),
        ...(page > 1 ? [`${pageUrl(1)}; rel="first"`, `${pageUrl(page - 1)}; rel="prev"`] : []),
      ];
      if (links.length > 0) response.setHeader("link", links.join(", "));
      return json(
        "api",
        request,
        response,
        200,
        release.assets.slice((page - 1) * perPage, page * perPage).map(assetJson),
      );
    }
    if (asset?.[1] !== undefined) {
      const found = findAsset(Number(asset[1]));
      if (found === undefined) return notFound();
      if (request.method === "DELETE") {
        if (!authorized(request)) return json("api", request, response, 401, { message: "Requires authentication" });
        found.release.assets.splice(found.release.assets.indexOf(found.asset), 1);
        log("api", request, response, 204);
        return response.end();
      }
      if (request.method === "GET" && request.headers.accept === "application/octet-stream") {
        log("api", request, response, 302);
        response.setHeader("location", `${downloads!.url}/${found.asset.id}/${encodeURIComponent(found.asset.name)}`);
        return response.end();
      }
      if (request.method === "GET") return json("api", request, response, 200, assetJson(found.asset));
    }
    notFound();
  });
  const uploadServer = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const match = /^\/repos\/[^/]+\/[^/]+\/releases\/(\d+)\/assets$/.exec(url.pathname);
    const release = releases.find((each) => each.id === Number(match?.[1]));
    const name = url.searchParams.get("name");
    const length = Number(request.headers["content-length"]);
    const refuse = (status: number, body: unknown) =>
      readBody(request).then(() => json("uploads", request, response, status, body));
    if (request.method !== "POST" || release === undefined) return refuse(404, { message: "Not Found" });
    if (!authorized(request)) return refuse(401, { message: "Requires authentication" });
    if (name === null || !Number.isInteger(length)) return refuse(400, { message: "Bad Content-Length or name" });
    if (length > standIn.maxAssetBytes) {
      return refuse(422, {
        message: "Validation Failed",
        errors: [{ resource: "ReleaseAsset", code: "custom", field: "size", message: "size is too large" }],
      });
    }
    if (release.assets.some((each) => each.name === name)) {
      return refuse(422, {
        message: "Validation Failed",
        errors: [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }],
      });
    }
    readBody(request).then((data) => {
      const asset: StoredAsset = { id: nextId++, name, size: data.length, state: "uploaded", data };
      release.assets.push(asset);
      json("uploads", request, response, 201, assetJson(asset));
    });
  });

  const downloadServer = createServer((request, response) => {
    const match = /^\/(\d+)\//.exec(request.url ?? "");
    const found = match?.[1] === undefined ? undefined : findAsset(Number(match[1]));
    // The download host takes no token: a request that brings one is refused, as S3 refuses it.
    if (found === undefined || request.headers.authorization !== undefined) {
      log("download", request, response, found === undefined ? 404 : 400);
      return response.end();
    }
    log("download", request, response, 200);
    response.setHeader("content-type", "application/octet-stream");
    response.setHeader("content-length", found.asset.data.length);
    response.end(found.asset.data);
  });

  const apiListening = await listenOnLoopback(api);
  uploads = await listenOnLoopback(uploadServer);
  downloads = await listenOnLoopback(downloadServer);
  standIn.apiUrl = apiListening.url;
  standIn.close = async () => {
    await Promise.all([apiListening.close(), uploads!.close(), downloads!.close()]);
  };
  return standIn;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
