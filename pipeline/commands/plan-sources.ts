// `release restore --sources-from plan.json`: the sources a night's plan gives work (a kernel to
// record, or one to minify again), so the publish job restores those and no other.
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ConfigError } from "../../archive/errors.ts";
import { parseKeyPath, sourceId } from "../../archive/kernel-key.ts";
import { parseJson } from "../../archive/parse-json.ts";

// Only what is read here: `btfmill plan --json` writes more.
const planSchema = z.object({
  kernels: z.array(z.object({ kernel: z.string(), action: z.string() })),
  minify: z.array(z.object({ kernel: z.string() })).default([]),
});

/** When the publish job restores from a plan: the sources of its kernels with work, sorted. */
export async function sourcesWithWork(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8").catch((cause: unknown) => {
    throw new ConfigError(`cannot read the plan ${file}: ${(cause as Error).message}`, {
      hint: "write it with btfmill plan --json > plan.json",
      cause,
    });
  });
  const plan = parseJson(planSchema, text, {
    where: file,
    misfit: "is not the output of btfmill plan --json",
    problems: 3,
    context: { hint: "write it with btfmill plan --json > plan.json" },
  });
  const kernels = [
    ...plan.kernels.filter((kernel) => kernel.action !== "unchanged").map((kernel) => kernel.kernel),
    ...plan.minify.map((kernel) => kernel.kernel),
  ];
  const sources = new Set<string>();
  for (const kernel of kernels) {
    const key = parseKeyPath(kernel);
    if (key === undefined) {
      throw new ConfigError(`${file} names kernel ${kernel}, not <distro>/<release>/<arch>/<kernel>`, {
        hint: "write it with btfmill plan --json > plan.json",
      });
    }
    sources.add(sourceId(key));
  }
  return [...sources].sort();
}
