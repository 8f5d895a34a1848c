/** The operator's trust flags and their environment fallbacks (src/cli/trust-flags.ts). */
import { describe, expect, it } from "vitest";
import { trustSelection } from "../../src/cli/trust-flags.js";
import { UsageError } from "../../src/errors.js";

describe("trustSelection", () => {
  it.each([
    ["nothing set: BOSUN_SECRET_* and no plugins", {}, {}, { allowedEnv: ["BOSUN_SECRET_*"], allowExecPlugins: false }],
    ["the variable", {}, { BOSUN_ALLOWED_SECRET_ENV: "CI_*, BOSUN_SECRET_*" }, { allowedEnv: ["CI_*", "BOSUN_SECRET_*"], allowExecPlugins: false }],
    ["the flag over the variable", { allowedSecretEnv: "ONLY_*" }, { BOSUN_ALLOWED_SECRET_ENV: "CI_*" }, { allowedEnv: ["ONLY_*"], allowExecPlugins: false }],
    ["an empty flag: no variable at all", { allowedSecretEnv: "" }, {}, { allowedEnv: [], allowExecPlugins: false }],
    ["an empty variable: the default", {}, { BOSUN_ALLOWED_SECRET_ENV: "" }, { allowedEnv: ["BOSUN_SECRET_*"], allowExecPlugins: false }],
    ["--allow-exec-plugins", { allowExecPlugins: true }, {}, { allowedEnv: ["BOSUN_SECRET_*"], allowExecPlugins: true }],
    ["BOSUN_ALLOW_EXEC_PLUGINS=true", {}, { BOSUN_ALLOW_EXEC_PLUGINS: "true" }, { allowedEnv: ["BOSUN_SECRET_*"], allowExecPlugins: true }],
    ["BOSUN_ALLOW_EXEC_PLUGINS=1", {}, { BOSUN_ALLOW_EXEC_PLUGINS: "1" }, { allowedEnv: ["BOSUN_SECRET_*"], allowExecPlugins: true }],
    ["BOSUN_ALLOW_EXEC_PLUGINS=false", {}, { BOSUN_ALLOW_EXEC_PLUGINS: "false" }, { allowedEnv: ["BOSUN_SECRET_*"], allowExecPlugins: false }],
  ])("%s", (_name, flags, env, expected) => {
    expect(trustSelection(flags, env)).toEqual(expected);
  });

  it.each([
    [{ allowedSecretEnv: "BOSUN_(.*)" }, {}, "--allowed-secret-env"],
    [{}, { BOSUN_ALLOWED_SECRET_ENV: "A B" }, "BOSUN_ALLOWED_SECRET_ENV"],
    [{}, { BOSUN_ALLOW_EXEC_PLUGINS: "yes please" }, "BOSUN_ALLOW_EXEC_PLUGINS"],
  ])("a bad value is a usage error naming where it came from (%j %j)", (flags, env, named) => {
    expect(() => trustSelection(flags, env)).toThrow(UsageError);
    expect(() => trustSelection(flags, env)).toThrow(named);
  });
});
