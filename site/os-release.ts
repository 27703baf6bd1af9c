// /etc/os-release as consumers meet it in the field: quoted values (`ID="amzn"`), capitals,
// comments, and Debian testing/sid without VERSION_ID (os-release(5)).
export interface OsRelease {
  /** Lowercased `ID`. */
  id: string;
  /** `VERSION_ID` without quotes; undefined on rolling releases (Debian testing/sid). */
  versionId: string | undefined;
  /** Lowercased `ID_LIKE` words, for distros derived from another. */
  idLike: string[];
}

function unquote(value: string): string {
  const trimmed = value.trim();
  const quote = trimmed[0];
  if ((quote === '"' || quote === "'") && trimmed.endsWith(quote) && trimmed.length >= 2) {
    return trimmed.slice(1, -1).replace(/\\(["'$`\\])/g, "$1");
  }
  return trimmed;
}

/** When a lookup starts: the fields of an os-release file's text; undefined without an ID. */
export function parseOsRelease(text: string): OsRelease | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)\s*=\s*(.*)$/i.exec(line);
    if (match && !line.trimStart().startsWith("#")) fields.set(match[1]!.toUpperCase(), unquote(match[2]!));
  }
  const id = fields.get("ID")?.toLowerCase();
  if (!id) return undefined;
  const versionId = fields.get("VERSION_ID") || undefined;
  const idLike = (fields.get("ID_LIKE") ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  return { id, versionId, idLike };
}
