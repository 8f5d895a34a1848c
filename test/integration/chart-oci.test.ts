/**
 * Charts from a private OCI registry, end to end through the CLI: the CNCF distribution registry on
 * 127.0.0.1 (TLS from a test CA, htpasswd basic auth), the chart pushed by the real `helm push`. With the
 * operator's `--chart-credentials` bosun logs helm in inside a private helm home and plans and applies the
 * chart into a sandbox cluster; without the credentials or the CA the add-on is blocked with what to
 * configure, and the password never shows. Three clusters pulling the chart cost the registry one pull;
 * nothing is written to the user's helm configuration and no private helm home outlives the run. A chart
 * pushed again under the same version between `plan --out` and `apply --plan` is refused.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyHelmAddon } from "../../src/addons/helm-apply.js";
import { KubeRest } from "../../src/kube/rest.js";
import { loadChartCredentials } from "../../src/source/chart-credentials.js";
import { ChartFetcher } from "../../src/source/chart-fetch.js";
import { loadFleet } from "../../src/spec/load.js";
import { DEFAULT_REPO_POLICY, type RepoPolicy } from "../../src/spec/repo-policy.js";
import { freePort } from "../support/net.js";
import { auditMark, bosunWrites } from "../support/audit.js";
import { startOciRegistry, type OciRegistry } from "../support/oci-registry.js";
import { removeRepoChartAddon, repoChartCluster, writeRepoChartFleet } from "../support/repo-chart-fleet.js";
import { bosun, sandboxCluster, sharedSandbox } from "../support/sandbox.js";
import { createTestCa, type TestCa } from "../support/tls.js";

const CHART = path.resolve(import.meta.dirname, "../fixtures/charts/hello");
const PASSWORD = "oci-registry-pw-51c0de";
const RELEASE = "oci-hello";
const CLUSTERS = ["alpha", "beta", "gamma"] as const;
const TRUST = ["--allow-internal-chart-repos"];
let ca: TestCa;
let registry: OciRegistry;
let base: string;
let fleet: string;
let credentials: string;
/** The runs' HOME and TMPDIR: afterwards they must hold no helm configuration and no helm home. */
let home: string;
let tmp: string;

function env(): Record<string, string | undefined> {
  return {
    KUBECONFIG: sharedSandbox().kubeconfig,
    BOSUN_HELM: sharedSandbox().binaries.helm,
    BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize,
    BOSUN_CACHE_DIR: path.join(base, "cache"),
    REGISTRY_PASSWORD: PASSWORD,
    // helm finds its configuration through HOME or the XDG variables: both point into `home`, so that a
    // write to the user's own helm configuration cannot land anywhere this file does not look.
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_CACHE_HOME: path.join(home, ".cache"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    TMPDIR: tmp,
    NO_COLOR: "1",
  };
}

function cluster(name: string): string {
  return repoChartCluster(name, RELEASE, registry.repo);
}

async function writeCredentials(name: string, lines: readonly string[]): Promise<string> {
  const file = path.join(base, name);
  await fs.writeFile(file, ["repositories:", `  - url: ${registry.repo}`, ...lines.map((l) => `    ${l}`), ""].join("\n"));
  return file;
}

/** Private helm homes left in bosun's cache, and anything bosun left in the runs' TMPDIR. */
async function homesLeft(): Promise<string[]> {
  const homes = await fs.readdir(path.join(base, "cache", "helm-homes")).catch(() => [] as string[]);
  return [...homes, ...(await fs.readdir(tmp)).filter((entry) => entry.includes("helm"))];
}

/** Anything helm keeps in a home directory (config, cache, data: `…/helm/…`); helm's kube client cache in ~/.kube is not helm's configuration. */
async function helmFilesIn(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true })).filter((entry) => /(^|\/)helm(\/|$)/.test(entry));
}

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-chart-oci-"));
  home = path.join(base, "home");
  tmp = path.join(base, "tmp");
  await fs.mkdir(home);
  await fs.mkdir(tmp);
  ca = await createTestCa();
  const registryBinary = sharedSandbox().binaries.registry;
  if (registryBinary === undefined) throw new Error("the test setup did not provide the registry binary (bosun sandbox binaries --for test)");
  await fs.mkdir(path.join(base, "registry"));
  registry = await startOciRegistry(path.join(base, "registry"), { registry: registryBinary, helm: sharedSandbox().binaries.helm ?? "helm", ca, username: "bosun", password: PASSWORD });
  await registry.push(CHART);
  credentials = await writeCredentials("chart-credentials.yaml", ["username: bosun", "passwordEnv: REGISTRY_PASSWORD", `caFile: ${ca.caFile}`]);
  fleet = path.join(base, "fleet");
  await writeRepoChartFleet(fleet, "chart-oci", CLUSTERS, cluster);
});

afterAll(async () => {
  await removeRepoChartAddon("gamma", RELEASE);
  await registry.stop();
  await ca.remove();
  await fs.rm(base, { recursive: true, force: true });
});

describe("a private OCI registry", () => {
  it("without the credentials or the CA, the add-on is blocked with what to configure", async () => {
    const noAuth = await writeCredentials("no-auth.yaml", [`caFile: ${ca.caFile}`]);
    const unauthorized = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", ...TRUST, "--chart-credentials", noAuth], { env: env() });
    const authOut = `${unauthorized.stdout}\n${unauthorized.stderr}`;
    expect(authOut).toMatch(/OCI registry oci:\/\/127\.0\.0\.1:\d+\/charts: hello 0\.1\.0: the registry needs credentials \(401 Unauthorized\); configure them in the chart credentials/);
    const noCa = await writeCredentials("no-ca.yaml", ["username: bosun", "passwordEnv: REGISTRY_PASSWORD"]);
    const untrusted = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", ...TRUST, "--chart-credentials", noCa], { env: env() });
    const tlsOut = `${untrusted.stdout}\n${untrusted.stderr}`;
    expect(tlsOut).toMatch(/TLS: the registry's certificate is not signed by a trusted CA; add the registry's CA bundle as caFile/);
    const wrong = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", ...TRUST, "--chart-credentials", credentials], { env: { ...env(), REGISTRY_PASSWORD: "not-the-password" } });
    const wrongOut = `${wrong.stdout}\n${wrong.stderr}`;
    expect(wrongOut).toMatch(/hello 0\.1\.0: the registry refused the configured credentials \(401 Unauthorized\)/);
    for (const text of [authOut, tlsOut, wrongOut]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain("not-the-password");
    }
    // Failed pulls leave no private helm home (with a login in it) behind either.
    expect(await homesLeft()).toEqual([]);
    // The add-on is blocked, with its reason; the rest of the cluster's plan is still made.
    expect(unauthorized.stdout).toMatch(/^gamma\s+wave default\s+blocked$/m);
    expect(unauthorized.stdout).toMatch(/^\s+versions\s+control plane 1\.35\.4, workers 1\.35\.4$/m);
  });

  it("never sends the user's own Docker or helm registry logins to a registry the fleet names", async () => {
    // The user running bosun is logged in to the registry (docker login, helm registry login), but the
    // operator's list has no credentials for it: bosun's pull must go without them and meet the 401.
    const auth = Buffer.from(`bosun:${PASSWORD}`).toString("base64");
    const config = JSON.stringify({ auths: { [registry.host]: { auth } } });
    await fs.mkdir(path.join(home, ".docker"), { recursive: true });
    await fs.writeFile(path.join(home, ".docker", "config.json"), config);
    await fs.mkdir(path.join(home, ".config", "helm", "registry"), { recursive: true });
    await fs.writeFile(path.join(home, ".config", "helm", "registry", "config.json"), config);
    try {
      const caOnly = await writeCredentials("ca-only.yaml", [`caFile: ${ca.caFile}`]);
      const plan = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", ...TRUST, "--chart-credentials", caOnly], { env: { ...env(), DOCKER_CONFIG: path.join(home, ".docker") } });
      expect(plan.stdout).toMatch(/hello 0\.1\.0: the registry needs credentials \(401 Unauthorized\)/);
    } finally {
      await fs.rm(path.join(home, ".docker"), { recursive: true, force: true });
      await fs.rm(path.join(home, ".config", "helm"), { recursive: true, force: true });
    }
  });

  it("names an unknown version and a registry that is down, blocking only that add-on", async () => {
    const other = path.join(base, "fleet-errors");
    await fs.cp(fleet, other, { recursive: true });
    const down = `oci://127.0.0.1:${String(await freePort())}/charts`;
    await fs.writeFile(path.join(other, "clusters", "gamma.yaml"), cluster("gamma").replace("version: 0.1.0", "version: 9.9.9"));
    await fs.writeFile(path.join(other, "clusters", "beta.yaml"), cluster("beta").replace(registry.repo, down));
    const plan = await bosun(["plan", "--fleet", other, ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(plan.stdout).toMatch(/^gamma\s+wave default\s+blocked$/m);
    expect(plan.stdout).toContain("hello 9.9.9: not found in the registry (no such chart, or no such version)");
    expect(plan.stdout).toMatch(/^beta\s+wave default\s+blocked$/m);
    expect(plan.stdout).toMatch(/hello 0\.1\.0: the registry is unreachable \(.*connection refused\)/);
    expect(plan.stdout).toMatch(/^alpha\s+wave default\s+changes$/m);
  });

  it("plans three clusters with one pull, writing nothing to the user's helm configuration", async () => {
    const before = await registry.pulls("hello", "0.1.0");
    const plan = await bosun(["plan", "--fleet", fleet, ...TRUST, "--chart-credentials", credentials, "-o", "json"], { env: env() });
    expect(plan.exitCode, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as { clusters: { name: string; steps: { kind: string; state: string; chartDigest?: string }[] }[] };
    const digests = new Set<string | undefined>();
    for (const name of CLUSTERS) {
      const step = parsed.clusters.find((c) => c.name === name)?.steps.find((s) => s.kind === "addon.install");
      expect(step, name).toMatchObject({ state: "pending", chartDigest: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown });
      digests.add(step?.chartDigest);
    }
    expect(digests.size).toBe(1);
    expect((await registry.pulls("hello", "0.1.0")) - before).toBe(1);
    expect(plan.stdout + plan.stderr).not.toContain(PASSWORD);
    // The login lived in a private helm home that is gone: HOME has no helm directories, TMPDIR no home.
    expect(await helmFilesIn(home)).toEqual([]);
    expect(await homesLeft()).toEqual([]);
  });

  it("applies the chart from the registry, and the next plan is in sync", async () => {
    const applied = await bosun(["apply", "--fleet", fleet, "--cluster", "gamma", "--yes", ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout + applied.stderr).not.toContain(PASSWORD);
    const configMap = await sandboxCluster("gamma").core.readNamespacedConfigMap({ name: `${RELEASE}-settings`, namespace: RELEASE }).catch(() => undefined);
    expect(configMap, "the chart's ConfigMap in gamma").toBeDefined();
    const after = await bosun(["plan", "--fleet", fleet, "--cluster", "gamma", "--detailed-exitcode", ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(after.exitCode, after.stdout).toBe(0);
    expect(await helmFilesIn(home)).toEqual([]);
  });

  it("refuses a saved plan when the chart was pushed again under the same version", async () => {
    const edited = path.join(base, "hello-again");
    await fs.cp(CHART, edited, { recursive: true });
    await fs.appendFile(path.join(edited, "values.yaml"), "\nrepushed: true\n");
    const out = path.join(base, "plan.json");
    const saved = await bosun(["plan", "--fleet", fleet, "--cluster", "alpha", "--out", out, ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(saved.exitCode, saved.stderr).toBe(0);
    await registry.push(edited);
    const stale = await bosun(["apply", "--plan", out, "--yes", ...TRUST, "--chart-credentials", credentials], { env: env() });
    expect(stale.exitCode, stale.stdout + stale.stderr).toBe(1);
    expect(stale.stderr).toMatch(/refusing .*cluster alpha changed since the plan was made/);
    // What changed is the chart's digest, and only that: the pull worked, the new archive is another one.
    const digestOf = (plan: string): string | undefined =>
      (JSON.parse(plan) as { clusters: { name: string; steps: { kind: string; state: string; chartDigest?: string }[] }[] }).clusters
        .find((c) => c.name === "alpha")
        ?.steps.find((s) => s.kind === "addon.install" && s.state === "pending")?.chartDigest;
    const fresh = await bosun(["plan", "--fleet", fleet, "--cluster", "alpha", ...TRUST, "--chart-credentials", credentials, "-o", "json"], { env: env() });
    const before = digestOf(await fs.readFile(out, "utf8"));
    const after = digestOf(fresh.stdout);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    expect(after).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
  });

  it("an apply step pinned to a digest the registry no longer serves fails before helm writes anything", async () => {
    const policy: RepoPolicy = { ...DEFAULT_REPO_POLICY, allowInternalChartRepos: true, chartCredentials: loadChartCredentials(credentials, {}) };
    const loaded = await loadFleet(fleet, { policy });
    if (!loaded.ok) throw new Error(`the test fleet is invalid: ${JSON.stringify(loaded.errors)}`);
    const beta = loaded.value.clusters.find((c) => c.name === "beta");
    const addon = beta?.addons.find((a) => a.name === RELEASE);
    if (!beta || !addon) throw new Error("the test fleet has no add-on on beta");
    const clients = sandboxCluster("beta");
    const context = { rest: new KubeRest(clients.kc, { cluster: "beta" }), target: { kubeconfig: sharedSandbox().kubeconfig, context: "beta" }, helm: sharedSandbox().binaries.helm ?? "helm", repoPolicy: policy,
      charts: new ChartFetcher({ credentials: policy.chartCredentials, env: { REGISTRY_PASSWORD: PASSWORD }, allowInternal: true, cacheDir: path.join(base, "cache", "charts"), helm: sharedSandbox().binaries.helm ?? "helm" }) };
    const planned = "0".repeat(64);
    const since = await auditMark("beta");
    const applying = applyHelmAddon(context, beta, addon, fleet, { REGISTRY_PASSWORD: PASSWORD }, { chartDigest: planned });
    await expect(applying).rejects.toThrow(new RegExp(`changed since the plan: the plan rendered sha256:${planned}, the repository now serves sha256:[0-9a-f]{64} .*nothing was installed`));
    // The API server's own record: neither bosun nor helm wrote anything to beta.
    expect(bosunWrites(await since()).map((e) => `${e.verb} ${e.requestURI}`)).toEqual([]);
    await expect(clients.core.readNamespace({ name: RELEASE })).rejects.toThrow();
  });
});
