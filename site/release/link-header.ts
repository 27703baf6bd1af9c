// GitHub pages its lists with an RFC 8288 Link header:
//   <https://api.github.com/repositories/1/releases/2/assets?per_page=100&page=2>; rel="next", <...>; rel="last"

/** When a list page arrives: the URL of the next page, or undefined on the last one. */
export function nextPageUrl(link: string | string[] | undefined): string | undefined {
  if (typeof link !== "string") return undefined;
  for (const part of link.split(",")) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match?.[1] !== undefined && /(?:^|;)\s*rel="?(?:[^"]*\s)?next(?:\s[^"]*)?"?\s*(?:;|$)/.test(match[2] ?? "")) {
      return match[1];
    }
  }
  return undefined;
}
