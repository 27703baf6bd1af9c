// JSON checked against its schema: one FormatError for text that is not JSON, one naming the
// first few problems (and where they are) for JSON that does not fit.
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { FormatError } from "../../archive/errors.ts";
import { parseJson, type ParseJsonOptions } from "../../archive/parse-json.ts";

const schema = z.strictObject({
  version: z.literal(1),
  kernels: z.array(z.strictObject({ name: z.string(), size: z.int().nonnegative() })),
});
const options: ParseJsonOptions = {
  where: "site/manifest.json",
  misfit: "does not follow manifest schema v1",
  problems: 2,
  context: { hint: "publish the site again" },
};

const failure = (text: string): FormatError => {
  try {
    parseJson(schema, text, options);
  } catch (error) {
    return error as FormatError;
  }
  throw new Error("expected a FormatError");
};

describe("parseJson", () => {
  it("returns the value when the JSON fits the schema", () => {
    expect(parseJson(schema, '{"version":1,"kernels":[{"name":"a","size":3}]}', options)).toEqual({
      version: 1,
      kernels: [{ name: "a", size: 3 }],
    });
  });

  it("says where text that is not JSON came from, with the parser's reason and the caller's hint and cause", () => {
    const error = failure("<html>503</html>");
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toMatch(/^site\/manifest\.json is not JSON: Unexpected token/);
    expect(error.hint).toBe("publish the site again");
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it("names at most `problems` misfits, each by its path", () => {
    const error = failure('{"version":2,"kernels":[{"name":"a","size":-1},{"name":7,"size":1}]}');
    expect(error.message).toMatch(
      /^site\/manifest\.json does not follow manifest schema v1: version: .+; kernels\.0\.size: .+$/,
    );
    expect(error.message).not.toContain("kernels.1.name");
    expect(error.hint).toBe("publish the site again");
  });

  it("refuses a field the schema does not know", () => {
    expect(failure('{"version":1,"kernels":[],"extra":true}').message).toMatch(/: : Unrecognized key.*"extra"/);
  });
});
