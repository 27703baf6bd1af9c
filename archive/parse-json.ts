// JSON read from a file or a site and checked against its zod schema: one FormatError for text
// that is not JSON, one naming the first problems for JSON that does not fit.
import type { z } from "zod";
import { FormatError, type ErrorContext } from "./errors.ts";

export interface ParseJsonOptions {
  /** The file or URL, first word of each message. */
  where: string;
  /** What a misfit is said to be, e.g. "does not follow manifest schema v1". */
  misfit: string;
  /** How many schema problems the message names. */
  problems: number;
  context: Omit<ErrorContext, "cause">;
}

/** When a manifest is opened: the parsed, checked value, or a FormatError saying where and why. */
export function parseJson<Schema extends z.ZodType>(
  schema: Schema,
  text: string,
  options: ParseJsonOptions,
): z.infer<Schema> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new FormatError(`${options.where} is not JSON: ${(cause as Error).message}`, { ...options.context, cause });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const first = result.error.issues
      .slice(0, options.problems)
      .map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new FormatError(`${options.where} ${options.misfit}: ${first.join("; ")}`, options.context);
  }
  return result.data;
}
