/**
 * One cluster's apply against the shared sandbox (cluster gamma, fixture fleet test/fixtures/fleets/plan):
 * the plan's add-on and backup steps run, the next plan is empty, the journal records every step, a
 * second run while the lock is held refuses with the holder, and a cluster that needs a version upgrade
 * is deferred untouched.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeInventoryEntry } from "../../src/addons/inventory.js";
import { executeCluster, type ClusterRun } from "../../src/apply/execute.js";
import { openJournal } from "../../src/apply/journal.js";
import { acquireClusterLock, holderIdentity, newRunId } from "../../src/apply/lock.js";
import { ETCD_BACKUP_CRONJOB } from "../../src/backup/template.js";
import { planFleet } from "../../src/observe/plan-fleet.js";
import type { ClusterPlan } from "../../src/plan/types.js";
import { loadFleet } from "../../src/spec/load.js";
import type { DesiredCluster } from "../../src/spec/types.js";
import { helmUninstall } from "../../src/tools/helm.js";
import { bosun, deleteNamespaces, sandboxCluster, sandboxRest, sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/plan");
const TOKEN_ENV = "BOSUN_SECRET_PLAN_GREETER_TOKEN";
const gamma = sandboxCluster("gamma");
let fleetDir: string;
let env: NodeJS.ProcessEnv;
const lines: string[] = [];

async function planOf(name: string): Promise<{ plan: ClusterPlan; desired: DesiredCluster }> {
  const result = await planFleet({ source: { fleet: fleetDir }, clusters: [name], env, clusterTimeoutMs: 60_000, now: new Date() });
  if (!result.ok) throw new Error("fixture fleet invalid");
  const loaded = await loadFleet(fleetDir);
  const desired = loaded.ok ? loaded.value.clusters.find((c) => c.name === name) : undefined;
  const plan = result.plan.clusters[0];
  if (!plan || !desired) throw new Error(`no plan for ${name}`);
  return { plan, desired };
}

function runOf(plan: ClusterPlan, desired: DesiredCluster, runId = newRunId()): ClusterRun {
  return {
    desired,
    plan,
    rest: sandboxRest(plan.name),
    fleetDir,
    env,
    runId,
    planRevision: null,
    leaseSeconds: 30,
    helm: sharedSandbox().binaries.helm ?? "helm",
    kustomize: sharedSandbox().binaries.kustomize ?? "kustomize",
    log: (line) => lines.push(line),
  };
}

beforeAll(async () => {
  // Another file may have used these names on gamma; start from a cluster without them.
  await deleteNamespaces(gamma.core, ["plan-web", "plan-greeter"]);
  fleetDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-apply-fleet-"));
  await fs.cp(FIXTURE, fleetDir, { recursive: true });
  const secret = path.join(fleetDir, "web/base/secret.yaml");
  await fs.writeFile(secret, (await fs.readFile(secret, "utf8")).replace("__SECRET__", randomBytes(12).toString("hex")));
  env = { ...process.env, KUBECONFIG: sharedSandbox().kubeconfig, [TOKEN_ENV]: randomBytes(12).toString("hex"), BOSUN_HELM: sharedSandbox().binaries.helm, BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize };
});

afterAll(async () => {
  const target = { kubeconfig: sharedSandbox().kubeconfig, context: "gamma" };
  await helmUninstall(target, "greeter", "plan-greeter", { helm: sharedSandbox().binaries.helm ?? "helm" }).catch(() => undefined);
  for (const name of ["greeter", "web"]) await removeInventoryEntry(sandboxRest("gamma"), name).catch(() => undefined);
  await deleteNamespaces(gamma.core, ["plan-web", "plan-greeter"]);
  await gamma.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB }).catch(() => undefined);
  await gamma.core.deleteNamespacedConfigMap({ name: "bosun-journal", namespace: "bosun-system" }).catch(() => undefined);
  await fs.rm(fleetDir, { recursive: true, force: true });
});

describe("executing one cluster's plan", () => {
  it("runs the backup and add-on steps in order, journals them, and the next plan is empty", async () => {
    const { plan, desired } = await planOf("gamma");
    expect(plan.steps.map((s) => s.kind)).toEqual(["backup.schedule", "addon.install", "addon.install"]);
    const runId = newRunId();
    const outcome = await executeCluster(runOf(plan, desired, runId), new AbortController().signal);
    expect(outcome, lines.join("\n")).toEqual({ kind: "converged", steps: 3 });
    const after = await planOf("gamma");
    expect(after.plan.status).toBe("in-sync");
    const entries = await openJournal(sandboxRest("gamma"), "gamma", { runId: newRunId(), planRevision: null }).entries();
    expect(entries.filter((e) => e.runId === runId).map((e) => [e.stepId, e.state]).sort()).toEqual([
      ["gamma/addon.install/greeter", "succeeded"],
      ["gamma/addon.install/web", "succeeded"],
      ["gamma/backup.schedule", "succeeded"],
    ]);
  });

  it("refuses while another run holds the cluster lock, naming it, and changes nothing", async () => {
    await gamma.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB });
    const { plan, desired } = await planOf("gamma");
    expect(plan.steps.map((s) => s.kind)).toEqual(["backup.schedule"]);
    const other = await acquireClusterLock(sandboxRest("gamma"), { cluster: "gamma", holder: holderIdentity("other-run"), leaseSeconds: 30 });
    try {
      const outcome = await executeCluster(runOf(plan, desired), new AbortController().signal);
      expect(outcome.kind).toBe("failed");
      expect(outcome.kind === "failed" ? outcome.reason : "").toMatch(/locked by bosun@.*other-run/);
      expect((await planOf("gamma")).plan.steps.map((s) => s.kind)).toEqual(["backup.schedule"]);
    } finally {
      await other.release();
    }
    expect(await executeCluster(runOf(plan, desired), new AbortController().signal)).toEqual({ kind: "converged", steps: 1 });
  });

  it("defers a cluster whose plan needs a version upgrade, before changing anything", async () => {
    const { plan, desired } = await planOf("beta");
    expect(plan.steps.map((s) => s.kind)).toContain("workers.upgrade");
    const outcome = await executeCluster(runOf(plan, desired), new AbortController().signal);
    expect(outcome.kind).toBe("deferred");
    expect((await planOf("beta")).plan.steps).toEqual(plan.steps);
  });
});

describe("bosun apply (CLI)", () => {
  const cliEnv = (): Record<string, string | undefined> => ({
    KUBECONFIG: sharedSandbox().kubeconfig,
    [TOKEN_ENV]: env[TOKEN_ENV],
    BOSUN_HELM: sharedSandbox().binaries.helm,
    BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize,
  });

  it("refuses to prompt without a terminal", async () => {
    const result = await bosun(["apply", "--fleet", fleetDir, "--cluster", "gamma"], { env: cliEnv() });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("pass --yes");
  });

  it("refuses a saved plan when the cluster changed since, and applies a fresh one", async () => {
    await gamma.batch.deleteNamespacedCronJob({ ...ETCD_BACKUP_CRONJOB }).catch(() => undefined);
    const out = path.join(fleetDir, "..", `plan-${randomBytes(4).toString("hex")}.json`);
    const planned = await bosun(["plan", "--fleet", fleetDir, "--cluster", "gamma", "--out", out, "-o", "json"], { env: cliEnv() });
    expect(planned.exitCode, planned.stderr).toBe(0);
    // The world moves on before the saved plan is applied: someone deletes the web Deployment by hand.
    await gamma.apps.deleteNamespacedDeployment({ name: "web", namespace: "plan-web" });
    const stale = await bosun(["apply", "--plan", out, "--yes"], { env: cliEnv() });
    expect(stale.exitCode).toBe(1);
    expect(stale.stderr).toMatch(/refusing .*cluster gamma changed since the plan was made/);

    const applied = await bosun(["apply", "--fleet", fleetDir, "--cluster", "gamma", "--yes"], { env: cliEnv() });
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/gamma\s+converged \(2 steps\)/);
    const after = await bosun(["plan", "--fleet", fleetDir, "--cluster", "gamma", "--detailed-exitcode"], { env: cliEnv() });
    expect(after.exitCode, after.stdout).toBe(0);
    await fs.rm(out, { force: true });
  });
});
