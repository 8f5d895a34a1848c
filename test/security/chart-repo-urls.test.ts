/**
 * Hostile Helm chart repository URLs (issue 12, defect 6): loopback, link-local and private addresses in
 * every spelling, credentials and secret query strings in the URL, a host name that resolves to loopback,
 * and repositories outside the operator's allow-list. `bosun validate` and `bosun plan` refuse them
 * (the URL's file and line, never the credential), and plan fetches nothing: the stand-in internal
 * server on 127.0.0.1 receives no request. When the operator allows internal repositories, the same
 * server is a real chart repository and the plan renders from it — so the server does see helm's
 * requests when they are allowed.
 */
import dns from "node:dns/promises";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helmPackage, helmRepoIndex } from "../../src/tools/helm.js";
import { sharedSandbox } from "../support/sandbox.js";
import { startRecordingServer, type RecordingServer } from "./recording-server.js";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");
const canaries = makeCanaries();
let internal: RecordingServer;
let chartDir: string;
const repos: HostileRepo[] = [];

beforeAll(async () => {
  // A real chart repository (helm package + helm repo index) on 127.0.0.1, the internal host.
  chartDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-internal-charts-"));
  internal = await startRecordingServer(chartDir);
  const helm = sharedSandbox().binaries.helm ?? "helm";
  await helmPackage(path.join(FIXTURES, "charts/hello"), chartDir, { helm });
  await helmRepoIndex(chartDir, internal.url, { helm });
});

afterAll(async () => {
  await internal.close();
  await fs.rm(chartDir, { recursive: true, force: true });
  await Promise.all(repos.map((r) => r.cleanup()));
});

/** A fleet whose one cluster (sandbox gamma) installs chart `hello` 0.1.0 from `repo`. */
async function fleetWithRepo(repo: string): Promise<HostileRepo> {
  const fleet = await hostileRepo({
    "clusters/gamma.yaml": clusterYaml(
      "gamma",
      `  addons:\n    - name: hello\n      namespace: hostile-charts\n      helm:\n        repo: "${repo}"\n        chart: hello\n        version: 0.1.0\n`,
    ),
  });
  repos.push(fleet);
  return fleet;
}

const REPO_AT = "clusters/gamma.yaml:15:";
const REPO_FIELD = "(at spec.addons[0].helm.repo)";

const REFUSED: [string, (s: RecordingServer) => string, RegExp][] = [
  ["loopback", (s) => s.url, /loopback address/],
  ["loopback in hex", (s) => `http://0x7f000001:${s.port}`, /loopback address/],
  ["loopback in decimal", (s) => `http://2130706433:${s.port}`, /loopback address/],
  ["loopback in octal", (s) => `http://0177.0.0.01:${s.port}`, /loopback address/],
  ["loopback shortened", (s) => `http://127.1:${s.port}`, /loopback address/],
  ["IPv6 loopback", (s) => `http://[::1]:${s.port}`, /loopback address/],
  ["IPv4-mapped IPv6 loopback", (s) => `http://[::ffff:127.0.0.1]:${s.port}`, /loopback address/],
  ["localhost", (s) => `http://localhost:${s.port}`, /loopback address/],
  ["an OCI registry on loopback", (s) => `oci://127.0.0.1:${s.port}/charts`, /loopback address/],
  ["an OCI registry on loopback in hex", (s) => `oci://0x7f000001:${s.port}/charts`, /loopback address/],
  ["the metadata address", () => "http://169.254.169.254/latest/meta-data", /link-local address/],
  ["a private address", () => "https://10.0.0.1/charts", /private address/],
  ["credentials in the URL", () => `https://robot:${canaries.gitToken}@charts.example.com/stable`, /carries credentials/],
  ["a token in the query string", () => `https://charts.example.com/stable?token=${canaries.secretEnv}`, /secret in its query string/],
];

describe("refused chart repositories", () => {
  describe.each(REFUSED)("%s", (_name, url, message) => {
    let repo: HostileRepo;
    beforeAll(async () => {
      repo = await fleetWithRepo(url(internal));
    });

    it.each([["validate"], ["plan"]])("bosun %s", async (verb) => {
      const before = internal.requests.length;
      const args = verb === "validate" ? ["validate", repo.dir] : ["plan", "--fleet", repo.dir];
      const result = await runHostile(args, canaries);
      await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [REPO_AT, REPO_FIELD, message] });
      expect(internal.requests.slice(before), "the internal server was asked").toEqual([]);
    });
  });
});

describe("a host name that resolves to loopback", () => {
  it("passes validate (a name is resolved only when fetched) and is refused by plan before helm fetches", async () => {
    const name = os.hostname();
    const addresses = (await dns.lookup(name, { all: true })).map((a) => a.address);
    expect(addresses.some((a) => a.startsWith("127.") || a === "::1"), `${name} resolves to ${addresses.join(", ")}: the test needs a name of this machine that resolves to loopback`).toBe(true);
    const repo = await fleetWithRepo(`http://${name}:${internal.port}`);
    const validated = await runHostile(["validate", repo.dir], canaries);
    await expectSafe(repo, canaries, validated, { exitCodes: [0] });
    const before = internal.requests.length;
    // A render that is refused blocks the add-on's step (exit 2 with --detailed-exitcode), as any render failure does.
    const planned = await runHostile(["plan", "--fleet", repo.dir, "--detailed-exitcode"], canaries);
    await expectSafe(repo, canaries, planned, { exitCodes: [2], mentions: [/blocked/, new RegExp(`chart repository host ${name.toLowerCase()} resolves to 127\\.`), /allows internal ones/] });
    expect(internal.requests.slice(before), "helm fetched from the internal server").toEqual([]);
  });
});

describe("the operator's allow-list", () => {
  it("refuses a public repository that is not under an allowed prefix (flag)", async () => {
    const repo = await fleetWithRepo("https://kubernetes.github.io/ingress-nginx");
    const result = await runHostile(["validate", "--allowed-chart-repos", "https://charts.example.com/stable", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [REPO_AT, REPO_FIELD, /not in the operator's allowed chart repositories/] });
  });

  it("refuses a look-alike host of an allowed prefix (environment)", async () => {
    const repo = await fleetWithRepo("https://charts.example.com.evil.net/stable");
    const result = await runHostile(["plan", "--fleet", repo.dir], canaries, { env: { BOSUN_ALLOWED_CHART_REPOS: "https://charts.example.com" } });
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [REPO_AT, /not in the operator's allowed chart repositories/] });
  });

  it("a malformed allow-list is a usage error naming the variable", async () => {
    const repo = await fleetWithRepo("https://charts.example.com/stable");
    const result = await runHostile(["validate", repo.dir], canaries, { env: { BOSUN_ALLOWED_CHART_REPOS: "not-a-url" } });
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: ["BOSUN_ALLOWED_CHART_REPOS"] });
  });

  it("the default accepts fleet-example's public repository URLs", async () => {
    const example = path.resolve(import.meta.dirname, "../../fleet-example");
    const repo = await fleetWithRepo("https://kubernetes.github.io/ingress-nginx");
    const result = await runHostile(["validate", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [0], mentions: ["is valid"] });
    const exampleResult = await runHostile(["validate", example], canaries);
    expect(exampleResult.exitCode, exampleResult.stdout).toBe(0);
  });
});

describe("internal repositories the operator allows", () => {
  it("plan renders the chart from the internal repository with --allow-internal-chart-repos and the allow-list naming it", async () => {
    const repo = await fleetWithRepo(internal.url);
    const before = internal.requests.length;
    const result = await runHostile(["plan", "--fleet", repo.dir, "--allow-internal-chart-repos", "--allowed-chart-repos", internal.url, "-o", "json"], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [0] });
    const plan = JSON.parse(result.stdout) as { clusters: { name: string; status: string; steps: { addon?: string }[] }[] };
    const gamma = plan.clusters.find((c) => c.name === "gamma");
    expect(gamma?.status, result.stdout).not.toBe("invalid");
    expect(gamma?.steps.some((s) => s.addon === "hello"), result.stdout).toBe(true);
    // helm did fetch, from the server the refused cases never reached.
    expect(internal.requests.slice(before).some((r) => r.includes("index.yaml"))).toBe(true);
  });
});
