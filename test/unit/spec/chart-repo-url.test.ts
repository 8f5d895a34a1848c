/**
 * The chart repository URL classifier: every spelling of an internal address is internal, credentials and
 * secret-bearing query strings are refused without being repeated, and allow-list prefixes match at
 * scheme, host and path-segment boundaries only.
 */
import { describe, expect, it } from "vitest";
import { checkAllowedPrefixes, checkChartRepoUrl, classifyAddress, REPO_CHART_NAME, underPrefix } from "../../../src/spec/chart-repo-url.js";
import { DEFAULT_REPO_POLICY, type RepoPolicy } from "../../../src/spec/repo-policy.js";

const policy = (over: Partial<RepoPolicy> = {}): RepoPolicy => ({ ...DEFAULT_REPO_POLICY, ...over });

describe("classifyAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["0:0:0:0:0:ffff:7f00:0001", "loopback"],
    ["::127.0.0.2", "loopback"],
    ["64:ff9b::7f00:1", "loopback"],
    ["2002:7f00:1::", "loopback"],
    ["::ffff:0:127.0.0.1", "loopback"],
    ["::ffff:0:a00:1", "private"],
    ["64:ff9b:1::7f00:1", "reserved"],
    ["2001:0:4136:e378:8000:63bf:80ff:fffe", "reserved"],
    ["169.254.169.254", "link-local"],
    ["::ffff:169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["fd00::1", "private"],
    ["0.0.0.0", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["not-an-ip", "reserved"],
    ["8.8.8.8", "public"],
    ["172.32.0.1", "public"],
    ["2606:4700:4700::1111", "public"],
    ["::ffff:8.8.8.8", "public"],
  ])("%s is %s", (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });
});

describe("checkChartRepoUrl with the default policy", () => {
  it.each([
    ["https://kubernetes.github.io/ingress-nginx"],
    ["https://charts.bitnami.com/bitnami"],
    ["oci://registry-1.docker.io/bitnamicharts"],
    ["http://charts.example.com/stable"],
    ["https://charts.example.com/?ref=main"],
  ])("%s is accepted", (url) => {
    expect(checkChartRepoUrl(url, policy()).problems).toEqual([]);
  });

  it.each([
    ["http://127.0.0.1:8080/", "loopback"],
    ["http://0x7f000001/", "loopback"],
    ["http://2130706433/", "loopback"],
    ["http://0177.0.0.1/", "loopback"],
    ["http://127.1/", "loopback"],
    ["http://[::1]/", "loopback"],
    ["http://[0:0:0:0:0:0:0:1]/", "loopback"],
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://localhost/", "loopback"],
    ["http://LOCALHOST./", "loopback"],
    ["http://charts.localhost/", "loopback"],
    ["oci://127.0.0.1/charts", "loopback"],
    ["oci://0x7f000001/charts", "loopback"],
    ["oci://2130706433:5000/charts", "loopback"],
    ["oci://[::1]:5000/charts", "loopback"],
    ["oci://[::ffff:127.0.0.1]/charts", "loopback"],
    ["oci://localhost:5000/charts", "loopback"],
    ["http://169.254.169.254/latest/meta-data", "link-local"],
    ["http://0xa9fea9fe/", "link-local"],
    ["http://[fe80::1]/", "link-local"],
    ["https://10.0.0.5/charts", "private"],
    ["https://192.168.0.10/", "private"],
    ["https://[fd12::1]/", "private"],
    ["http://0/", "unspecified"],
    ["http://0.0.0.0/", "unspecified"],
  ])("%s is refused as %s", (url, cls) => {
    const problems = checkChartRepoUrl(url, policy()).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${cls} address`);
    // With the operator's allowance, the same URL is accepted.
    expect(checkChartRepoUrl(url, policy({ allowInternalChartRepos: true })).problems).toEqual([]);
  });

  it.each([
    ["https://user:hunter2@charts.example.com/", "credentials", "hunter2"],
    ["https://ghp_canarytoken@charts.example.com/", "credentials", "ghp_canarytoken"],
    ["oci://robot:s3cr3t@registry.example.com/charts", "credentials", "s3cr3t"],
    ["https://charts.example.com/?token=abc123xyz", "query string", "abc123xyz"],
    ["https://charts.example.com/?access_token=abc123xyz", "query string", "abc123xyz"],
    ["https://bucket.example.com/charts?X-Amz-Signature=abc123xyz&X-Amz-Credential=k", "query string", "abc123xyz"],
    ["https://acct.blob.example.net/charts?sv=2020&sig=abc123xyz", "query string", "abc123xyz"],
    ["https://charts.example.com/?apiKey=abc123xyz", "query string", "abc123xyz"],
    ["https://charts.example.com/?PASSWORD=abc123xyz", "query string", "abc123xyz"],
  ])("%s is refused (%s) without repeating the secret", (url, what, secret) => {
    const problems = checkChartRepoUrl(url, policy({ allowInternalChartRepos: true })).problems;
    expect(problems.join("\n")).toContain(what);
    expect(problems.join("\n")).not.toContain(secret);
  });

  it.each([["file:///etc/passwd"], ["ftp://charts.example.com/"], ["not a url"]])("%s is refused", (url) => {
    expect(checkChartRepoUrl(url, policy()).problems).not.toEqual([]);
  });
});

describe("allowed chart repositories", () => {
  const allowed = policy({ allowedChartRepos: ["https://charts.example.com/team", "oci://registry.example.com"] });

  it.each([
    ["https://charts.example.com/team", true],
    ["https://charts.example.com/team/", true],
    ["https://charts.example.com/team/stable", true],
    ["https://CHARTS.example.com/team/stable", true],
    ["oci://registry.example.com/any/path", true],
    ["https://charts.example.com/team-evil", false],
    ["https://charts.example.com/", false],
    ["https://charts.example.com.evil.net/team", false],
    ["http://charts.example.com/team", false],
    ["https://charts.example.com:8443/team", false],
    ["https://kubernetes.github.io/ingress-nginx", false],
  ])("%s allowed: %s", (url, ok) => {
    const problems = checkChartRepoUrl(url, allowed).problems;
    expect(problems.some((p) => p.includes("allowed chart repositories"))).toBe(!ok);
  });

  it("an allowed prefix does not lift the internal-address rule", () => {
    const problems = checkChartRepoUrl("http://127.0.0.1:8080/charts", policy({ allowedChartRepos: ["http://127.0.0.1:8080"] })).problems;
    expect(problems.join("\n")).toContain("loopback address");
  });

  it("underPrefix compares hosts after normalizing their spelling", () => {
    expect(underPrefix(new URL("http://0x7f000001/x"), "http://127.0.0.1/")).toBe(true);
  });

  it.each([
    [["https://charts.example.com"], undefined],
    [["not a url"], "is not a URL"],
    [["file:///srv/charts"], "scheme"],
    [["https://u:p@charts.example.com"], "without credentials"],
    [["https://charts.example.com/?token=x"], "without credentials"],
  ])("checkAllowedPrefixes(%j)", (prefixes, problem) => {
    const found = checkAllowedPrefixes(prefixes);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});

describe("URLs whose checked form is not what helm fetches", () => {
  it.each([
    ["oci://registry.example.com/charts?x=1", "no query or fragment"],
    ["oci://registry.example.com/charts#frag", "no query or fragment"],
    ["oci://registry.example.com/charts/../secret", "segments"],
    ["https://charts.example.com/team/%2e%2e/other", "segments"],
    ["https://charts.example.com/./team", "segments"],
  ])("%s is refused (%s)", (url, problem) => {
    expect(checkChartRepoUrl(url, policy()).problems.join("\n")).toContain(problem);
  });

  it.each(["oci://registry.example.com/charts", "https://charts.example.com/team/v1.2", "https://charts.example.com/..team"])("%s passes", (url) => {
    expect(checkChartRepoUrl(url, policy()).problems).toEqual([]);
  });
});

describe("REPO_CHART_NAME", () => {
  it.each([
    ["ingress-nginx", true],
    ["cert_manager.v2", true],
    ["hello@sha256:0123", false],
    ["hello:1.0.0", false],
    ["team/hello", false],
    ["..", false],
    ["-flag", false],
  ])("%s is a chart name: %s", (name, ok) => {
    expect(REPO_CHART_NAME.test(name)).toBe(ok);
  });
});
