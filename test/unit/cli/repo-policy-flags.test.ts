/**
 * The operator's repository policy from flags and environment: flags win, bad values are usage errors
 * naming the flag or variable, and the defaults allow nothing internal or remote.
 */
import { describe, expect, it } from "vitest";
import { repoPolicy } from "../../../src/cli/repo-policy-flags.js";
import { UsageError } from "../../../src/errors.js";
import { DEFAULT_REPO_POLICY } from "../../../src/spec/repo-policy.js";

describe("repoPolicy", () => {
  it("defaults to the safe policy", () => {
    expect(repoPolicy({}, {})).toEqual(DEFAULT_REPO_POLICY);
  });

  it.each([
    [{}, { BOSUN_ALLOWED_CHART_REPOS: "https://a.example.com, oci://b.example.com" }, { allowedChartRepos: ["https://a.example.com", "oci://b.example.com"] }],
    [{ allowedChartRepos: ["https://c.example.com"] }, { BOSUN_ALLOWED_CHART_REPOS: "https://a.example.com" }, { allowedChartRepos: ["https://c.example.com"] }],
    [{}, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "true" }, { allowInternalChartRepos: true }],
    [{}, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "0" }, { allowInternalChartRepos: false }],
    [{ allowInternalChartRepos: true }, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "false" }, { allowInternalChartRepos: true }],
    [{}, { BOSUN_ALLOW_REMOTE_KUSTOMIZE: "1" }, { allowRemoteKustomize: true }],
  ])("flags %j with environment %j", (flags, env, expected) => {
    expect(repoPolicy(flags, env)).toMatchObject(expected);
  });

  it.each([
    [{}, { BOSUN_ALLOWED_CHART_REPOS: "charts.example.com" }, "BOSUN_ALLOWED_CHART_REPOS"],
    [{ allowedChartRepos: ["https://u:p@charts.example.com"] }, {}, "--allowed-chart-repos"],
    [{}, { BOSUN_ALLOW_INTERNAL_CHART_REPOS: "yes please" }, "BOSUN_ALLOW_INTERNAL_CHART_REPOS"],
    [{}, { BOSUN_ALLOW_REMOTE_KUSTOMIZE: "maybe" }, "BOSUN_ALLOW_REMOTE_KUSTOMIZE"],
  ])("refuses flags %j with environment %j", (flags, env, named) => {
    expect(() => repoPolicy(flags, env)).toThrow(UsageError);
    expect(() => repoPolicy(flags, env)).toThrow(named);
  });
});
