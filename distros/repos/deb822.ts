// deb822 control data: the stanza format of Release, Packages and apt's `.sources` files.
// https://manpages.debian.org/bookworm/dpkg-dev/deb822.5.en.html
//
//   Package: linux-image-6.1.0-47-cloud-amd64-dbg       -> "package" => "linux-image-6.1.0-47-cloud-amd64-dbg"
//   SHA256:                                              -> "sha256" => "\n7ad4... 281462948 pool/..."
//    7ad4... 281462948 pool/...
import { FormatError } from "../../archive/errors.ts";

/** One stanza: lowercased field name -> value; continuation lines joined with "\n", each trimmed. */
export type Deb822Stanza = Map<string, string>;

/** When a Release, Packages or .sources text is read: splits it into stanzas, `where` names it in errors. */
export function parseDeb822(text: string, where: string): Deb822Stanza[] {
  const stanzas: Deb822Stanza[] = [];
  let current: Deb822Stanza | undefined;
  let lastField: string | undefined;
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.endsWith("\r") ? lines[index]!.slice(0, -1) : lines[index]!;
    if (line.trim() === "") {
      current = undefined;
      lastField = undefined;
      continue;
    }
    // deb822 allows comment lines; apt's .sources files use them, indexes do not.
    if (line.startsWith("#")) continue;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (current === undefined || lastField === undefined) {
        throw new FormatError(`${where} line ${index + 1}: continuation line with no field before it`, {
          hint: "the file is not deb822 control data; is the URL or path right?",
        });
      }
      current.set(lastField, `${current.get(lastField)}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new FormatError(
        `${where} line ${index + 1}: expected "Field: value", got ${JSON.stringify(line.slice(0, 80))}`,
        {
          hint: "the file is not deb822 control data; is the URL or path right?",
        },
      );
    }
    const field = line.slice(0, colon).trim().toLowerCase();
    if (current === undefined) {
      current = new Map();
      stanzas.push(current);
    }
    if (current.has(field)) {
      throw new FormatError(`${where} line ${index + 1}: field ${line.slice(0, colon)} appears twice in one stanza`, {
        hint: "the file is malformed; report it to whoever publishes it",
      });
    }
    current.set(field, line.slice(colon + 1).trim());
    lastField = field;
  }
  return stanzas;
}

/** When a field holds a whitespace-separated list (`Architectures`, `Suites`): its words, none if absent. */
export function fieldWords(stanza: Deb822Stanza, field: string): string[] {
  const value = stanza.get(field);
  return value === undefined ? [] : value.split(/\s+/).filter((word) => word !== "");
}
