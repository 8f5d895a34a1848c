/**
 * Charts from a private HTTPS chart repository, end to end through the CLI: a repository on 127.0.0.1
 * (`helm package` + `helm repo index`, served with a certificate from a test CA made by `openssl`, behind
 * basic auth). With the operator's `--chart-credentials` (the password from a variable, the CA from a
 * file) `bosun plan` and `bosun apply` install the chart into a sandbox cluster; without the CA, or without
 * the credentials, the add-on is blocked with a message that says what to configure, and the password
 * never shows. Three clusters installing the chart fetch it once; a second plan fetches only the index. A
 * chart published again under the same version between `plan --out` and `apply --plan` is refused. A
 * lite sandbox of ten clusters, all installing the chart, downloads it once too.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sandboxDown } from "../../src/sandbox/down.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { sandboxUp } from "../../src/sandbox/up.js";
import { startChartRepo, type ChartRepo } from "../support/chart-repo.js";
import { removeRepoChartAddon, repoChartCluster, writeRepoChartFleet } from "../support/repo-chart-fleet.js";
import { bosun, sharedSandbox } from "../support/sandbox.js";
import { createTestCa, type TestCa } from "../support/tls.js";

const CHART = path.resolve(import.meta.dirname, "../fixtures/charts/hello");
const PASSWORD = "chart-repo-pw-7f3e9a";
const RELEASE = "crepo-hello";
const CLUSTERS = ["alpha", "beta", "gamma"] as const;
let ca: TestCa;
let repo: ChartRepo;
let base: string;
let fleet: string;
let cache: string;
let credentials: string;

function env(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return {
    KUBECONFIG: sharedSandbox().kubeconfig,
    BOSUN_HELM: sharedSandbox().binaries.helm,
    BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize,
    BOSUN_CACHE_DIR: cache,
    CHARTS_PASSWORD: PASSWORD,
    NO_COLOR: "1",
    ...extra,
  };
}

function cluster(name: string): string {
  return repoChartCluster(name, RELEASE, `${repo.url}/`);
}

const TRUST = ["--allow-internal-chart-repos"];

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-chart-repos-"));
  cache = path.join(base, "cache");
  ca = await createTestCa();
  repo = await startChartRepo([CHART], sharedSandbox().binaries.helm ?? "helm", {
    tls: { cert: ca.pem.serverCert, key: ca.pem.serverKey },
    basicAuth: { username: "bosun", password: PASSWORD },
  });
  credentials = path.join(base, "chart-credentials.yaml");
  await fs.writeFile(credentials, `repositories:\n  - url: ${repo.url}\n    username: bosun\n    passwordEnv: CHARTS_PASSWORD\n    caFile: ${ca.caFile}\n`);
  fleet = path.join(base, "fleet");
  await writeRepoChartFleet(fleet, "chart-repos", CLUSTERS, cluster);
});

afterAll(async () => {
  await removeRepoChartAddon("gamma", RELEASE);
  await repo.close();
  await ca.remove();
  await fs.rm(base, { recursive: true, force: true });
});

describe("a private HTTPS chart repository", () => {
  it("without the CA or the credentials, the add-on is blocked with what to configure", async () => {
    const noCa = path.join(base, "no-ca.yaml");
    await fs.writeFile(noCa, `repositories:\n  - url: ${repo.url}\n    username: bosun\n    passwordEnv: CHARTS_PASSWORD\n`);
    const tls = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", ...TRUST, "--chart-credentials", noCa], { env: env() });
    const tlsOut = `${tls.stdout}\n${tls.stderr}`;
    expect(tlsOut).toMatch(/TLS: the server's certificate is not signed by a trusted CA .*add the repository's CA bundle as caFile/);
    const noAuth = path.join(base, "no-auth.yaml");
    await fs.writeFile(noAuth, `repositories:\n  - url: ${repo.url}\n    caFile: ${ca.caFile}\n`);
    const unauthorized = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", ...TRUST, "--chart-credentials", noAuth], { env: env() });
    const out = `${unauthorized.stdout}\n${unauthorized.stderr}`;
    expect(out).toMatch(/the repository needs credentials \(401 Unauthorized\); configure them in the chart credentials/);
    for (const text of [tlsOut, out]) expect(text).not.toContain(PASSWORD);
    // A bad credentials file is a usage error naming the file and line, before anything runs.
    const bad = path.join(base, "bad.yaml");
    await fs.writeFile(bad, `repositories:\n  - url: ${repo.url}\n    password: ${PASSWORD}\n`);
    const usage = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", ...TRUST, "--chart-credentials", bad], { env: env() });
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain(`${bad}:3: repositories[0].password: an inline secret is not accepted`);
    expect(usage.stderr).not.toContain(PASSWORD);
  });

  it("plans three clusters with one index request and one download; a second plan asks only for the index", async () => {
    repo.requests.length = 0;
    const plan = await bosun(["plan", "--fleet", fleet, ...TRUST, "--chart-credentials", credentials, "-o", "json"], { env: env() });
    expect(plan.exitCode, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { clusters: { name: string; steps: { kind: string; state: string; chartDigest?: string }[] }[] };
    for (const name of CLUSTERS) {
      const step = parsed.clusters.find((c) => c.name === name)?.steps.find((s) => s.kind === "addon.install");
      expect(step, name).toMatchObject({ state: "pending", chartDigest: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown });
    }
    expect(repo.requests.filter((r) => r.status !== 401).map((r) => `${r.status} ${r.path}`)).toEqual(["200 /index.yaml", "200 /hello-0.1.0.tgz"]);
    expect(plan.stdout).not.toContain(PASSWORD);

    repo.requests.length = 0;
    const again = await bosun(["plan", "--fleet", fleet, ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(repo.requests.map((r) => r.path)).toEqual(["/index.yaml"]);
  });

  it("applies the chart from the repository, and the next plan is in sync", async () => {
    const applied = await bosun(["apply", "--fleet", fleet, "--cluster", "gamma", "--yes", ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout + applied.stderr).not.toContain(PASSWORD);
    const after = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", "--detailed-exitcode", ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(after.exitCode, after.stdout).toBe(0);
  });

  it("refuses a saved plan when the chart was published again under the same version", async () => {
    // A value change makes the next plan an upgrade of gamma's release; the saved plan pins its digest.
    const edited = path.join(base, "hello-again");
    await fs.cp(CHART, edited, { recursive: true });
    await fs.appendFile(path.join(edited, "values.yaml"), "\nrepublished: true\n");
    await fs.appendFile(path.join(edited, "templates", "configmap.yaml"), "");
    const out = path.join(base, "plan.json");
    const saved = await bosun(["plan", "--fleet", fleet, "--cluster", "alpha", "--out", out, ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(saved.exitCode, saved.stderr).toBe(0);
    await repo.republish(edited);
    const stale = await bosun(["apply", "--plan", out, "--yes", ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr).toMatch(/refusing .*cluster alpha changed since the plan was made/);
  });
});

describe("a fleet of ten clusters using one repository chart", () => {
  const NAME = "crepo10";
  const TEN = Array.from({ length: 10 }, (_, i) => `c${String(i + 1).padStart(2, "0")}`);
  let root: string;
  let tenFleet: string;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-crepo10-"));
    tenFleet = path.join(root, "fleet");
    await fs.mkdir(path.join(tenFleet, "clusters"), { recursive: true });
    // Seeded as kubeadm clusters at the spec's version, one control-plane node each.
    const seed = TEN.map((name) => `  - name: ${name}\n    kubernetesVersion: "1.35.4"\n    nodes:\n      - { name: ${name}-cp-1, role: control-plane }\n`).join("");
    await fs.writeFile(path.join(tenFleet, "sandbox.yaml"), `apiVersion: bosun.dev/v1alpha1\nkind: Sandbox\nclusters:\n${seed}`);
    await sandboxUp({ root, name: NAME, mode: "lite", from: tenFleet, progress: () => undefined });
    await writeRepoChartFleet(tenFleet, "chart-repos-ten", TEN, cluster);
  }, 300_000);

  afterAll(async () => {
    await sandboxDown(root, NAME);
    await fs.rm(root, { recursive: true, force: true });
  }, 120_000);

  it("downloads the chart once for all ten, and a second plan asks only for the index", async () => {
    const tenEnv = env({ KUBECONFIG: sandboxLayout(root, NAME).kubeconfig, BOSUN_CACHE_DIR: path.join(root, "cache") });
    repo.requests.length = 0;
    const plan = await bosun(["plan", "--fleet", tenFleet, ...TRUST, "--chart-credentials", credentials, "-o", "json"], { env: tenEnv });
    expect(plan.exitCode, plan.stderr + plan.stdout.slice(0, 2000)).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { clusters: { name: string; steps: { kind: string; chartDigest?: string }[] }[] };
    const digests = TEN.map((name) => parsed.clusters.find((c) => c.name === name)?.steps.find((s) => s.kind === "addon.install")?.chartDigest);
    expect(digests.every((d) => d !== undefined && /^[0-9a-f]{64}$/.test(d)), JSON.stringify(digests)).toBe(true);
    expect(new Set(digests).size).toBe(1);
    expect(repo.requests.filter((r) => r.status !== 401).map((r) => `${r.status} ${r.path}`)).toEqual(["200 /index.yaml", "200 /hello-0.1.0.tgz"]);

    repo.requests.length = 0;
    const again = await bosun(["plan", "--fleet", tenFleet, ...TRUST, "--chart-credentials", credentials], { env: tenEnv });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(repo.requests.map((r) => r.path)).toEqual(["/index.yaml"]);
  });
});
