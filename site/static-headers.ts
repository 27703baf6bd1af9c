// The `_headers` file Netlify and Cloudflare Pages read: a path pattern, then indented
// `Name: value` lines. Both hosts apply every matching rule and join repeated headers with a
// comma, so the rules here cover disjoint paths and each carries all of its headers.
// https://docs.netlify.com/routing/headers/ , https://developers.cloudflare.com/pages/configuration/headers/

export interface HeaderRule {
  /** `/manifest.json`, or a prefix ending in `/*`. */
  pattern: string;
  headers: Record<string, string>;
}

const common = { "Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff" };
// The manifest, its parts, its signature and the index say what exists: a minute, then ask again.
const shortLived = { ...common, "Cache-Control": "public, max-age=60, must-revalidate" };
// Kernel files keep their path when a set changes and they are minified again, so they are not
// immutable; their sha256 in the manifest tells a client whether what it has is current.
const stablePaths = { ...common, "Cache-Control": "public, max-age=600, must-revalidate" };
// Assets are named by their content hash: a new version is a new name.
const immutable = { ...common, "Cache-Control": "public, max-age=31536000, immutable" };

/** When publish writes `_headers`: the cache policy for a tree whose root holds these distros. */
export function siteHeaderRules(distros: string[]): HeaderRule[] {
  const data = ["sets", "full", "bundles", ...distros].map((dir) => ({ pattern: `/${dir}/*`, headers: stablePaths }));
  const meta = [
    "/manifest.json",
    "/manifest.json.sig",
    "/manifest.pub.pem",
    "/manifest.schema.json",
    "/archive-manifest.json",
    "/manifest/*",
    "/index/*",
  ];
  const pages = ["/", "/index.html", "/404.html"];
  return [
    ...meta.map((pattern) => ({ pattern, headers: shortLived })),
    ...pages.map((pattern) => ({ pattern, headers: { ...common, "Cache-Control": "public, max-age=300" } })),
    { pattern: "/assets/*", headers: immutable },
    // The archive state's parts (`--state`), named by their sha256 like the assets.
    { pattern: "/state/*", headers: immutable },
    ...data,
  ];
}

/** When publish writes `_headers`. */
export function renderHeaderRules(rules: HeaderRule[]): string {
  return `${rules.map((rule) => [rule.pattern, ...Object.entries(rule.headers).map(([name, value]) => `  ${name}: ${value}`)].join("\n")).join("\n\n")}\n`;
}

/** When serve starts on a tree: reads its `_headers` back, so local serving behaves like the host. */
export function parseHeaderRules(text: string): HeaderRule[] {
  const rules: HeaderRule[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    if (!/^\s/.test(line)) {
      rules.push({ pattern: line.trim(), headers: {} });
      continue;
    }
    const separator = line.indexOf(":");
    const rule = rules.at(-1);
    if (rule && separator > 0) rule.headers[line.slice(0, separator).trim()] = line.slice(separator + 1).trim();
  }
  return rules;
}

/** When serve answers: the headers of every rule matching `urlPath`. */
export function headersFor(rules: HeaderRule[], urlPath: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const rule of rules) {
    const matches = rule.pattern.endsWith("/*")
      ? urlPath.startsWith(rule.pattern.slice(0, -1))
      : urlPath === rule.pattern;
    if (matches) Object.assign(headers, rule.headers);
  }
  return headers;
}
