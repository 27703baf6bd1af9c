// The browse page and its neighbours: index.html with its script and stylesheet renamed by content
// hash (so they can be cached for good), the 404 page, and `_headers` for static hosts.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { headersName } from "./cdn-layout.ts";
import { renderHeaderRules, siteHeaderRules } from "./static-headers.ts";
import { sha256Hex } from "../archive/file-digest.ts";

const pageDir = new URL("./page/", import.meta.url);
const assets = ["app.js", "style.css"];

/** When publish fills a new tree: writes the page files; `distros` are the root's folders. */
export async function writePage(treeRoot: string, distros: string[]): Promise<void> {
  let html = await readFile(new URL("index.html", pageDir), "utf8");
  await mkdir(join(treeRoot, "assets"), { recursive: true });
  for (const name of assets) {
    const bytes = await readFile(new URL(name, pageDir));
    const hash = sha256Hex(bytes).slice(0, 16);
    const dot = name.lastIndexOf(".");
    const versioned = `assets/${name.slice(0, dot)}.${hash}${name.slice(dot)}`;
    await writeFile(join(treeRoot, versioned), bytes);
    html = html.replaceAll(`"${name}"`, `"${versioned}"`);
  }
  await writeFile(join(treeRoot, "index.html"), html);
  await writeFile(join(treeRoot, "404.html"), await readFile(new URL("404.html", pageDir)));
  await writeFile(join(treeRoot, headersName), renderHeaderRules(siteHeaderRules(distros)));
}
