/**
 * `bosun plan` end to end against the shared sandbox, on the fixture fleet test/fixtures/fleets/plan
 * (cluster gamma: a Helm chart with a secret value and a Kustomize overlay with a Secret; cluster beta:
 * a worker one minor behind). Covers: the plan of a fresh cluster, an empty plan right after the cluster
 * was converged the way `apply` converges it, exactly the drift made by hand, and canary tokens (in a
 * Kustomize Secret, a Helm value marked secret and the Git credentials) that must never be printed.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeInventoryEntry, writeInventoryEntry } from "../../src/addons/inventory.js";
import { renderAddon, type RenderedHelmAddon } from "../../src/addons/render.js";
import { etcdBackupCronJob, ETCD_BACKUP_CRONJOB } from "../../src/backup/template.js";
import { KubeRest } from "../../src/kube/rest.js";
import { planFleet } from "../../src/observe/plan-fleet.js";
import type { ClusterPlan, Plan, Step } from "../../src/plan/types.js";
import { readPlan } from "../../src/report/json.js";
import { loadFleet } from "../../src/spec/load.js";
import type { DesiredCluster } from "../../src/spec/types.js";
import { helmUninstall, helmUpgradeInstall } from "../../src/tools/helm.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { bosun, deleteNamespaces, eventually, sandboxCluster, sandboxRest, sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/plan");
const KUSTOMIZE_CANARY = `kustomize-canary-${randomBytes(8).toString("hex")}`;
const HELM_CANARY = `helm-canary-${randomBytes(8).toString("hex")}`;
const GIT_CANARY = `git-canary-${randomBytes(8).toString("hex")}`;
const TOKEN_ENV = "BOSUN_SECRET_PLAN_GREETER_TOKEN";
const NOW = new Date("2026-11-23T12:00:00Z");

const gamma = sandboxCluster("gamma");
let fleetDir: string;
let env: NodeJS.ProcessEnv;

const tools = (): { helm: string; kustomize: string } => ({
  helm: sharedSandbox().binaries.helm ?? "helm",
  kustomize: sharedSandbox().binaries.kustomize ?? "kustomize",
});

/** Writes the fixture to a temp dir with `secret` as the Kustomize Secret's password. */
async function writeFleet(dir: string, secret: string): Promise<void> {
  await fs.cp(FIXTURE, dir, { recursive: true });
  const file = path.join(dir, "web/base/secret.yaml");
  await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace("__SECRET__", secret));
}

async function desiredGamma(): Promise<DesiredCluster> {
  const loaded = await loadFleet(fleetDir);
  if (!loaded.ok) throw new Error(`fixture fleet invalid: ${JSON.stringify(loaded.errors)}`);
  const cluster = loaded.value.clusters.find((c) => c.name === "gamma");
  if (!cluster) throw new Error("no gamma");
  return cluster;
}

/** Brings gamma to its spec the way `bosun apply` does: Helm release, server-side apply + inventory, backup CronJob. */
async function converge(): Promise<void> {
  const cluster = await desiredGamma();
  const rest = new KubeRest(gamma.kc, { cluster: "gamma" });
  const target = { kubeconfig: sharedSandbox().kubeconfig, context: "gamma" };
  for (const addon of cluster.addons) {
    const rendered = await renderAddon(rest, addon, fleetDir, env, tools());
    if (addon.source.kind === "helm") {
      const helm = rendered as RenderedHelmAddon;
      await helmUpgradeInstall(
        target,
        { release: addon.name, namespace: addon.namespace ?? addon.name, chart: path.join(fleetDir, addon.source.chart.kind === "local" ? addon.source.chart.path : ""), values: helm.values, createNamespace: true, wait: true, helmTimeout: "3m" },
        { helm: tools().helm },
      );
      await writeInventoryEntry(sandboxRest("gamma"), { name: addon.name, kind: "helm", namespace: addon.namespace, objects: [], secretPaths: addon.source.secretValues.map((s) => s.path) });
    } else {
      for (const object of rendered.objects) {
        await gamma.objects.patch(object, undefined, undefined, "bosun", true, PatchStrategy.ServerSideApply);
      }
      await writeInventoryEntry(sandboxRest("gamma"), { name: addon.name, kind: "kustomize", namespace: addon.namespace, objects: rendered.objects });
    }
  }
  const etcd = cluster.backup.etcd;
  if (!etcd) throw new Error("gamma has backups");
  await gamma.objects.patch(etcdBackupCronJob("gamma", etcd), undefined, undefined, "bosun", true, PatchStrategy.ServerSideApply);
  await eventually("web and greeter rolled out", async () => {
    const deployments = await Promise.all([
      gamma.apps.readNamespacedDeployment({ name: "web", namespace: "plan-web" }),
      gamma.apps.readNamespacedDeployment({ name: "greeter", namespace: "plan-greeter" }),
    ]);
    const done = deployments.every((d) => d.status?.observedGeneration === d.metadata?.generation && d.status?.readyReplicas === d.spec?.replicas && d.status?.updatedReplicas === d.spec?.replicas);
    return done ? true : undefined;
  }, 120_000);
}

async function planGamma(): Promise<ClusterPlan> {
  const result = await planFleet({ source: { fleet: fleetDir }, clusters: ["gamma"], env, clusterTimeoutMs: 60_000, now: NOW });
  if (!result.ok) throw new Error("fleet invalid");
  const cluster = result.plan.clusters[0];
  if (!cluster) throw new Error("no plan for gamma");
  return cluster;
}

function kinds(steps: readonly Step[]): string[] {
  return steps.map((s) => `${s.kind}${"addon" in s ? ` ${s.addon}` : ""}`);
}

beforeAll(async () => {
  fleetDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-plan-fleet-"));
  await writeFleet(fleetDir, KUSTOMIZE_CANARY);
  env = { ...process.env, KUBECONFIG: sharedSandbox().kubeconfig, [TOKEN_ENV]: HELM_CANARY, BOSUN_HELM: tools().helm, BOSUN_KUSTOMIZE: tools().kustomize };
});

afterAll(async () => {
  const target = { kubeconfig: sharedSandbox().kubeconfig, context: "gamma" };
  await helmUninstall(target, "greeter", "plan-greeter", { helm: tools().helm }).catch(() => undefined);
  for (const name of ["greeter", "web"]) await removeInventoryEntry(sandboxRest("gamma"), name).catch(() => undefined);
  await deleteNamespaces(gamma.core, ["plan-web", "plan-greeter"]);
  await gamma.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB }).catch(() => undefined);
  await fs.rm(fleetDir, { recursive: true, force: true });
});

describe("bosun plan on the sandbox", () => {
  it("plans a fresh cluster: backup CronJob, then both add-ons in dependency order; and beta's worker upgrade", async () => {
    const result = await planFleet({ source: { fleet: fleetDir }, clusters: [], env, clusterTimeoutMs: 60_000, now: NOW });
    if (!result.ok) throw new Error("fleet invalid");
    const [g, b] = result.plan.clusters;
    expect(g?.name).toBe("gamma");
    expect(g?.status).toBe("changes");
    expect(kinds(g?.steps ?? [])).toEqual(["backup.schedule", "addon.install greeter", "addon.install web"]);
    expect(g?.steps[1]).toMatchObject({ chart: "greeter", chartVersion: "0.3.1", objects: [{ id: "Secret/plan-greeter/greeter-auth", action: "create" }, { id: "Deployment/plan-greeter/greeter", action: "create" }] });
    expect(b?.name).toBe("beta");
    expect(b?.steps.map((s) => s.kind)).toEqual(["backup.schedule", "workers.upgrade"]);
    expect(b?.steps[1]).toMatchObject({ from: "1.34.4", to: "1.35.4", targets: ["beta-worker-1"] });
    const observed = result.observed.find((o) => o.name === "gamma");
    // Observation reads are a fixed number per cluster, whatever the add-ons: kubeadm 3, add-ons 4, backup 1 + its diff.
    expect(observed?.status === "observed" ? observed.requests.observe : -1).toBeLessThanOrEqual(12);
  });

  it("is empty right after the cluster was converged: server-set fields and defaults never show as drift", async () => {
    await converge();
    const plan = await planGamma();
    expect(plan.steps).toEqual([]);
    expect(plan.status).toBe("in-sync");
  });

  it("shows exactly the drift made by hand: a Deployment edited, a release's values changed, the backup CronJob deleted", async () => {
    // 1. A hand edit of a Deployment field bosun owns (as another field manager).
    await gamma.apps.patchNamespacedDeployment(
      { name: "web", namespace: "plan-web", body: { spec: { replicas: 5 } }, fieldManager: "kubectl-edit" },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // 2. Someone runs `helm upgrade --reuse-values --set message=…` by hand.
    const cluster = await desiredGamma();
    const greeter = cluster.addons.find((a) => a.name === "greeter");
    if (greeter?.source.kind !== "helm") throw new Error("no greeter");
    const rendered = (await renderAddon(new KubeRest(gamma.kc, { cluster: "gamma" }), greeter, fleetDir, env, tools())) as RenderedHelmAddon;
    await helmUpgradeInstall(
      { kubeconfig: sharedSandbox().kubeconfig, context: "gamma" },
      { release: "greeter", namespace: "plan-greeter", chart: path.join(fleetDir, "charts/greeter"), values: { ...rendered.values, message: "changed by hand" }, wait: true, helmTimeout: "3m" },
      { helm: tools().helm },
    );
    // 3. The backup CronJob deleted.
    await gamma.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB });

    const plan = await planGamma();
    expect(plan.status).toBe("changes");
    expect(kinds(plan.steps)).toEqual(["backup.schedule", "addon.upgrade greeter", "addon.apply web"]);
    const [backup, upgrade, apply] = plan.steps;
    expect(backup).toMatchObject({ action: "create" });
    expect(upgrade).toMatchObject({ kind: "addon.upgrade", chartVersion: { from: "0.3.1", to: "0.3.1" } });
    const values = upgrade?.kind === "addon.upgrade" ? upgrade.valuesDiff : "";
    expect(values).toMatch(/^-message: changed by hand$/m);
    expect(values).toMatch(/^\+message: hello from the plan test$/m);
    // The Deployment reads the message from its env: that object drifted too, and nothing else did.
    expect(upgrade?.kind === "addon.upgrade" ? upgrade.objects : []).toEqual([{ id: "Deployment/plan-greeter/greeter", action: "update" }]);
    expect(apply).toMatchObject({ kind: "addon.apply", objects: [{ id: "Deployment/plan-web/web", action: "update" }] });
    const diff = apply?.kind === "addon.apply" ? apply.diff : "";
    expect(diff).toMatch(/^- {2}replicas: 5$/m);
    expect(diff).toMatch(/^\+ {2}replicas: 2$/m);
    expect(diff.split("\n").filter((l) => /^[-+] /.test(l))).toHaveLength(2);
  });

  describe("secrets", () => {
    let server: GitServer;
    let url: string;
    let workDir: string;
    beforeAll(async () => {
      server = await startGitServer({ auth: { username: "x-access-token", password: GIT_CANARY } });
      // The served fleet carries the Kustomize canary; the Helm canary comes from the environment; then
      // both are rotated in the cluster so the diffs have to mention (masked) secret changes.
      url = await server.serveFixture(fleetDir, "fleet");
      workDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-plan-out-"));
      await gamma.core.patchNamespacedSecret(
        { name: "web-credentials", namespace: "plan-web", body: { stringData: { password: `rotated-${KUSTOMIZE_CANARY}` } }, fieldManager: "kubectl-edit" },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    });
    afterAll(async () => {
      await server.close();
      await fs.rm(workDir, { recursive: true, force: true });
    });

    const canaries = [KUSTOMIZE_CANARY, HELM_CANARY, GIT_CANARY, Buffer.from(KUSTOMIZE_CANARY).toString("base64"), Buffer.from(HELM_CANARY).toString("base64")];
    function expectClean(where: string, text: string): void {
      for (const canary of canaries) expect(text.includes(canary), `${where} contains a secret`).toBe(false);
    }

    it.each(["text", "markdown", "json"])("never prints a secret, with -o %s and --out, while the plan shows they changed", async (format) => {
      const out = path.join(workDir, `plan-${format}.json`);
      const result = await bosun(["plan", "--repo", url, "--ref", "main", "--cluster", "gamma", "-o", format, "--out", out], {
        env: { KUBECONFIG: sharedSandbox().kubeconfig, [TOKEN_ENV]: `rotated-${HELM_CANARY}`, BOSUN_GIT_TOKEN: GIT_CANARY, BOSUN_HELM: tools().helm, BOSUN_KUSTOMIZE: tools().kustomize, BOSUN_CACHE_DIR: workDir },
      });
      expect(result.exitCode, result.stderr).toBe(0);
      const written = await fs.readFile(out, "utf8");
      for (const [where, text] of [["stdout", result.stdout], ["stderr", result.stderr], ["plan.json", written]] as const) expectClean(where, text);
      const plan: Plan = readPlan(written, out);
      expect(plan.source).toMatchObject({ kind: "git", ref: "main" });
      expect(JSON.stringify(plan.source)).not.toContain(GIT_CANARY);
      const steps = plan.clusters[0]?.steps ?? [];
      // The Helm secret value changed: the values diff says so, masked.
      const upgrade = steps.find((s) => s.kind === "addon.upgrade");
      expect(upgrade?.kind === "addon.upgrade" ? upgrade.valuesDiff : "").toMatch(/\(masked: before\)[\s\S]*\(masked: after\)/);
      // The Kustomize Secret was edited by hand: its diff says so, masked.
      const apply = steps.find((s) => s.kind === "addon.apply");
      expect(apply?.kind === "addon.apply" ? apply.diff : "").toContain("(masked: after)");
    });

    it("never prints a secret when things fail: wrong Git token, missing secret value, unreadable cluster", async () => {
      const wrong = await bosun(["plan", "--repo", url, "--ref", "main"], {
        env: { KUBECONFIG: sharedSandbox().kubeconfig, BOSUN_GIT_TOKEN: `${GIT_CANARY}-wrong`, BOSUN_CACHE_DIR: workDir },
      });
      expect(wrong.exitCode).toBe(1);
      expect(wrong.stderr).toMatch(/401|authentication/i);
      expectClean("stderr (wrong token)", wrong.stdout + wrong.stderr);

      const missing = await bosun(["plan", "--fleet", fleetDir, "--cluster", "gamma", "-o", "json"], {
        env: { KUBECONFIG: sharedSandbox().kubeconfig, BOSUN_HELM: tools().helm, BOSUN_KUSTOMIZE: tools().kustomize },
      });
      const plan = JSON.parse(missing.stdout) as Plan;
      expect(plan.clusters[0]?.status).toBe("blocked");
      expect(plan.clusters[0]?.reason).toContain(TOKEN_ENV);
      expectClean("output (missing secret value)", missing.stdout + missing.stderr);

      const kubeconfig = path.join(workDir, "broken-kubeconfig");
      await fs.writeFile(kubeconfig, (await fs.readFile(sharedSandbox().kubeconfig, "utf8")).replace(/token: .*/g, `token: ${GIT_CANARY}`));
      const unauthorized = await bosun(["plan", "--fleet", fleetDir, "--cluster", "gamma"], { env: { KUBECONFIG: kubeconfig, [TOKEN_ENV]: HELM_CANARY } });
      expect(unauthorized.exitCode).toBe(1);
      expect(unauthorized.stdout).toMatch(/unreachable/);
      expectClean("output (401)", unauthorized.stdout + unauthorized.stderr);
    });
  });
});
