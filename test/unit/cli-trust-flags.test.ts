/**
 * The operator's trust flags and their environment fallbacks (src/cli/trust-flags.ts): flags win, bad
 * values are usage errors naming the flag or variable, and the defaults allow nothing internal, remote or
 * outside BOSUN_SECRET_*.
 */
import { describe, expect, it } from "vitest";
import { trustSelection } from "../../src/cli/trust-flags.js";
import { UsageError } from "../../src/errors.js";
import { DEFAULT_REPO_POLICY } from "../../src/spec/repo-policy.js";

describe("trustSelection", () => {
  it("defaults to the safe side", () => {
    expect(trustSelection({}, {})).toEqual({ policy: DEFAULT_REPO_POLICY, allowExecPlugins: false });
  });

  it.each([
    ["the variable", {}, { BOSUN_ALLOWED_SECRET_ENV: "CI_*, BOSUN_SECRET_*" }, { allowedSecretEnv: ["CI_*", "BOSUN_SECRET_*"] }],
    ["the flag over the variable", { allowedSecretEnv: "ONLY_*" }, { BOSUN_ALLOWED_SECRET_ENV: "CI_*" }, { allowedSecretEnv: ["ONLY_*"] }],
    ["an empty flag: no variable at all", { allowedSecretEnv: "" }, {}, { allowedSecretEnv: [] }],
    ["an empty variable: the default", {}, { BOSUN_ALLOWED_SECRET_ENV: "" }, { allowedSecretEnv: ["BOSUN_SECRET_*"] }],
    ["chart repositories from the variable", {}, { BOSUN_ALLOWED_CHART_REPOS: "https://a.example.com, oci://b.example.com" }, { allowedChartRepos: ["https://a.example.com", "oci://b.example.com"] }],
    ["chart repositories: the flag over the variable", { allowedChartRepos: ["https://c.example.com"] }, { BOSUN_ALLOWED_CHART_REPOS: "https://a.example.com" }, { allowedChartRepos: ["https://c.example.com"] }],
    ["internal repositories by variable", {}, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "true" }, { allowInternalChartRepos: true }],
    ["internal repositories off by 0", {}, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "0" }, { allowInternalChartRepos: false }],
    ["internal repositories: the flag over the variable", { allowInternalChartRepos: true }, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "false" }, { allowInternalChartRepos: true }],
    ["remote kustomize by variable", {}, { BOSUN_ALLOW_REMOTE_KUSTOMIZE: "1" }, { allowRemoteKustomize: true }],
  ])("%s", (_name, flags, env, expected) => {
    expect(trustSelection(flags, env).policy).toMatchObject(expected);
  });

  it.each([
    ["--allow-exec-plugins", { allowExecPlugins: true }, {}, true],
    ["BOSUN_ALLOW_EXEC_PLUGINS=true", {}, { BOSUN_ALLOW_EXEC_PLUGINS: "true" }, true],
    ["BOSUN_ALLOW_EXEC_PLUGINS=1", {}, { BOSUN_ALLOW_EXEC_PLUGINS: "1" }, true],
    ["BOSUN_ALLOW_EXEC_PLUGINS=false", {}, { BOSUN_ALLOW_EXEC_PLUGINS: "false" }, false],
  ])("exec plugins: %s", (_name, flags, env, expected) => {
    expect(trustSelection(flags, env).allowExecPlugins).toBe(expected);
  });

  it.each([
    [{ allowedSecretEnv: "BOSUN_(.*)" }, {}, "--allowed-secret-env"],
    [{}, { BOSUN_ALLOWED_SECRET_ENV: "A B" }, "BOSUN_ALLOWED_SECRET_ENV"],
    [{}, { BOSUN_ALLOW_EXEC_PLUGINS: "yes please" }, "BOSUN_ALLOW_EXEC_PLUGINS"],
    [{}, { BOSUN_ALLOWED_CHART_REPOS: "charts.example.com" }, "BOSUN_ALLOWED_CHART_REPOS"],
    [{ allowedChartRepos: ["https://u:p@charts.example.com"] }, {}, "--allowed-chart-repos"],
    [{}, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "yes please" }, "BOSUN_ALLOW_INTERNAL_CHART_REPOS"],
    [{}, { BOSUN_ALLOW_REMOTE_KUSTOMIZE: "maybe" }, "BOSUN_ALLOW_REMOTE_KUSTOMIZE"],
  ])("a bad value is a usage error naming where it came from (%j %j)", (flags, env, named) => {
    expect(() => trustSelection(flags, env)).toThrow(UsageError);
    expect(() => trustSelection(flags, env)).toThrow(named);
  });
});
