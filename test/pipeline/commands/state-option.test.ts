// `--state` and `--state-public-key` as run, plan, merge and publish read them.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../archive/errors.ts";
import { stateOption } from "../../../pipeline/commands/state-option.ts";

describe("stateOption", () => {
  it("gives no state without --state, and the site with its key when given", () => {
    expect(stateOption({})).toBeUndefined();
    expect(stateOption({ state: "https://btf.example.invalid" })).toEqual({
      from: "https://btf.example.invalid",
      publicKey: undefined,
    });
    expect(stateOption({ state: "/srv/site", "state-public-key": "/etc/btfmill/site.pem" })).toEqual({
      from: "/srv/site",
      publicKey: "/etc/btfmill/site.pem",
    });
  });

  it("refuses a public key with no --state to check it against", () => {
    expect(() => stateOption({ "state-public-key": "/etc/btfmill/site.pem" })).toThrowError(
      new ConfigError("--state-public-key needs --state URL|DIR"),
    );
  });
});
