/**
 * The check right before helm fetches: a host name is resolved and refused when any of its addresses is
 * internal, unless the operator allows internal repositories; literals and policy problems are judged
 * without resolving.
 */
import { describe, expect, it } from "vitest";
import { chartRepoFetchProblem, type ResolveHost } from "../../../src/addons/chart-repo-guard.js";
import { DEFAULT_REPO_POLICY } from "../../../src/spec/repo-policy.js";

/** A resolver answering from a table, recording what it was asked. */
function resolver(table: Record<string, readonly string[] | Error>): ResolveHost & { asked: string[] } {
  const asked: string[] = [];
  const resolve = async (hostname: string): Promise<readonly string[]> => {
    asked.push(hostname);
    const answer = table[hostname];
    if (answer instanceof Error) throw answer;
    return Promise.resolve(answer ?? []);
  };
  return Object.assign(resolve, { asked });
}

const DNS = {
  "charts.example.com": ["93.184.215.14"],
  "rebind.example.com": ["93.184.215.14", "127.0.0.1"],
  "metadata.google.internal": ["169.254.169.254"],
  "127.0.0.1.nip.io": ["127.0.0.1"],
  "svc.example.com": ["10.96.0.10"],
  "v6.example.com": ["::ffff:127.0.0.1"],
  "gone.example.com": Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }),
};

describe("chartRepoFetchProblem", () => {
  it.each([
    ["https://charts.example.com/stable", undefined],
    ["oci://charts.example.com/charts", undefined],
    ["https://rebind.example.com/", "resolves to 127.0.0.1, a loopback address"],
    ["http://metadata.google.internal/computeMetadata/v1/", "a link-local address"],
    ["http://127.0.0.1.nip.io/", "a loopback address"],
    ["oci://svc.example.com/charts", "a private address"],
    ["https://v6.example.com/", "a loopback address"],
    ["https://gone.example.com/", "cannot resolve the chart repository host gone.example.com: ENOTFOUND"],
    ["https://unknown.example.com/", "resolves to no address"],
  ])("%s", async (url, problem) => {
    const found = await chartRepoFetchProblem(url, DEFAULT_REPO_POLICY, resolver(DNS));
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it("does not resolve a literal or a URL the policy refuses", async () => {
    const resolve = resolver(DNS);
    expect(await chartRepoFetchProblem("http://0x7f000001/", DEFAULT_REPO_POLICY, resolve)).toContain("loopback address");
    expect(await chartRepoFetchProblem("https://u:p@charts.example.com/", DEFAULT_REPO_POLICY, resolve)).toContain("credentials");
    expect(await chartRepoFetchProblem("https://8.8.8.8/", DEFAULT_REPO_POLICY, resolve)).toBeUndefined();
    expect(resolve.asked).toEqual([]);
  });

  it("lets internal names through when the operator allows internal repositories", async () => {
    const resolve = resolver(DNS);
    expect(await chartRepoFetchProblem("http://metadata.google.internal/", { ...DEFAULT_REPO_POLICY, allowInternalChartRepos: true }, resolve)).toBeUndefined();
  });

  it("still applies the allow-list at fetch time", async () => {
    const policy = { ...DEFAULT_REPO_POLICY, allowedChartRepos: ["https://charts.example.com/stable"] };
    expect(await chartRepoFetchProblem("https://charts.example.com/other", policy, resolver(DNS))).toContain("allowed chart repositories");
  });
});
