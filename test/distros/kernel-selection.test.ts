import { describe, expect, it } from "vitest";
import { ConfigError } from "../../archive/errors.ts";
import { selectKernels, type SelectionRules } from "../../distros/kernel-selection.ts";

interface Candidate {
  kernel: string;
  flavor: string;
  version: number;
  suite: string;
}

const rules = (overrides: Partial<SelectionRules<Candidate>> = {}): SelectionRules<Candidate> => ({
  preferred: (a, b) => a.version - b.version,
  newer: (a, b) => a.version - b.version,
  flavors: undefined,
  latest: undefined,
  missingFlavors: (missing) => `no kernels of flavor ${missing.join(", ")}`,
  ...overrides,
});

const candidates: Candidate[] = [
  { kernel: "6.1.0-1-amd64", flavor: "amd64", version: 1, suite: "bookworm" },
  { kernel: "6.1.0-2-amd64", flavor: "amd64", version: 2, suite: "bookworm" },
  { kernel: "6.1.0-2-amd64", flavor: "amd64", version: 3, suite: "bookworm-updates" },
  { kernel: "6.1.0-2-cloud-amd64", flavor: "cloud-amd64", version: 2, suite: "bookworm" },
  { kernel: "6.1.0-3-amd64", flavor: "amd64", version: 4, suite: "bookworm-security" },
];

describe("selectKernels", () => {
  it("keeps the preferred package of each kernel, flavors in name order, newest first", () => {
    const chosen = selectKernels(candidates, rules());
    expect(chosen.map((c) => `${c.flavor} ${c.kernel} ${c.suite}`)).toEqual([
      "amd64 6.1.0-3-amd64 bookworm-security",
      "amd64 6.1.0-2-amd64 bookworm-updates",
      "amd64 6.1.0-1-amd64 bookworm",
      "cloud-amd64 6.1.0-2-cloud-amd64 bookworm",
    ]);
  });

  it("takes only the configured flavors, `latest` of each", () => {
    const chosen = selectKernels(candidates, rules({ flavors: ["amd64"], latest: 2 }));
    expect(chosen.map((c) => c.kernel)).toEqual(["6.1.0-3-amd64", "6.1.0-2-amd64"]);
  });

  it("refuses a configured flavor that has no kernels, naming the flavors found", () => {
    const select = () => selectKernels(candidates, rules({ flavors: ["rt-amd64"] }));
    expect(select).toThrow(ConfigError);
    expect(select).toThrow("no kernels of flavor rt-amd64");
    try {
      select();
    } catch (error) {
      expect((error as ConfigError).hint).toBe("flavors found: amd64, cloud-amd64");
    }
  });
});
