/**
 * `bosun apply` end to end, through the built CLI, against the shared sandbox (alpha at 1.34.4, gamma at
 * 1.35.4; beta only in a wave that must not start). The fleets are test/fixtures/fleets/apply-cli (one
 * fleet.yaml and add-on sources, one clusters/ directory per scenario) with the chart
 * test/fixtures/charts/acli-app, copied into a private directory per run. Every assertion reads the
 * clusters themselves — Helm release records, objects, the lock Lease, the journal — not only the output.
 *
 * The tests run in order and build on each other's state, as an operator's runs would:
 * 1. converge: two waves converge; `bosun plan --detailed-exitcode` then exits 0;
 * 2. a chart upgrade fails: rolled back, the other cluster of its wave finishes, the next wave never starts;
 * 3. a cluster frozen (SIGSTOP) mid-run is reported unreachable, the rest converge;
 * 4. bosun SIGKILLed mid-apply (its helm still running), run again: it takes over the dead run's lock, lets
 *    that helm finish, converges, repeats nothing; killed in a Kustomize step's health wait, the step is
 *    finished by the next run;
 * 5. two applies at once: one refuses naming the other, the other converges;
 * 6. pruning: add-ons removed from the spec and an object removed from an overlay are deleted, nothing else.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readInventoryEntries, removeInventoryEntry, type InventoryEntry } from "../../src/addons/inventory.js";
import { decodeReleasePayload, decodeReleaseSecret, type HelmReleaseRecord } from "../../src/addons/releases.js";
import { openJournal } from "../../src/apply/journal.js";
import type { JournalEntry, JournalRun } from "../../src/apply/journal-state.js";
import { LOCK_NAME, leaseExpiry } from "../../src/apply/lease.js";
import { BOSUN_NAMESPACE } from "../../src/constants.js";
import { httpStatus } from "../../src/kube/errors.js";
import { KubeRest } from "../../src/kube/rest.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { readState } from "../../src/sandbox/state.js";
import { processGone } from "../../src/tools/detached.js";
import { helmUninstall } from "../../src/tools/helm.js";
import { BOSUN_CLI, bosun, deleteNamespaces, eventually, sandboxCluster, sharedSandbox, type CliResult } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/apply-cli");
const CHART = path.resolve(import.meta.dirname, "../fixtures/charts/acli-app");

/** Everything these tests may create, per kind, for the guard before and the cleanup after. */
const RELEASES = [
  { name: "acli-web", namespace: "acli-web" },
  { name: "acli-cache", namespace: "acli-cache" },
  { name: "acli-later", namespace: "acli-later" },
  { name: "acli-busy", namespace: "acli-busy" },
];
const ADDONS = [...RELEASES.map((r) => r.name), "acli-config", "acli-extra", "acli-slow"];
const NAMESPACES = [...RELEASES.map((r) => r.namespace), "acli-config", "acli-slow"];
const CLUSTERS = ["alpha", "beta", "gamma"] as const;
type ClusterName = (typeof CLUSTERS)[number];

const clients = { alpha: sandboxCluster("alpha"), beta: sandboxCluster("beta"), gamma: sandboxCluster("gamma") };
const work: string[] = [];
/** Pids of every bosun this file started: a lock one of them left is cleaned up at the end. */
const started: number[] = [];
/** Frozen API servers, thawed in afterAll whatever happens. */
const frozen = new Set<number>();

function cliEnv(): Record<string, string | undefined> {
  return {
    KUBECONFIG: sharedSandbox().kubeconfig,
    BOSUN_HELM: sharedSandbox().binaries.helm,
    BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize,
    NO_COLOR: "1",
  };
}

/**
 * A private fleet directory for one scenario: fleet.yaml, addons/ and the chart (as charts/acli-app),
 * with the scenario's clusters as clusters/. `edit` changes the copy before it is used.
 */
async function fleet(scenario: string, edit?: (dir: string) => Promise<void>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `bosun-acli-${scenario}-`));
  work.push(dir);
  await fs.copyFile(path.join(FIXTURE, "fleet.yaml"), path.join(dir, "fleet.yaml"));
  await fs.cp(path.join(FIXTURE, "addons"), path.join(dir, "addons"), { recursive: true });
  await fs.cp(CHART, path.join(dir, "charts/acli-app"), { recursive: true });
  await fs.cp(path.join(FIXTURE, "scenarios", scenario, "clusters"), path.join(dir, "clusters"), { recursive: true });
  await edit?.(dir);
  return dir;
}

/** `bosun apply --yes` to completion. */
async function apply(dir: string, ...args: string[]): Promise<CliResult> {
  return bosun(["apply", "--fleet", dir, "--yes", ...args], { env: cliEnv() });
}

/** `bosun apply --yes` started in the background (its pid is known at once); await it for the result. */
function startApply(dir: string, ...args: string[]) {
  const child = execa(process.execPath, [BOSUN_CLI, "apply", "--fleet", dir, "--yes", ...args], { env: cliEnv(), reject: false, timeout: 300_000 });
  if (child.pid !== undefined) started.push(child.pid);
  return child;
}

/** Runs `body` while `run` goes on; if `body` fails, the run is killed rather than left behind the failed test. */
async function whileRunning<T>(run: ReturnType<typeof startApply>, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    run.kill("SIGKILL");
    await run;
    throw error;
  }
}

function output(result: { stdout: unknown; stderr: unknown }): string {
  return `${String(result.stdout)}\n${String(result.stderr)}`;
}

/** The summary line of each cluster (the first line of its text). */
function summary(stdout: string): Record<string, string> {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => /^summary\b/.test(l));
  const result: Record<string, string> = {};
  if (start < 0) return result;
  for (const line of lines.slice(start + 1)) {
    const match = /^ {2}(alpha|beta|gamma)\s{2,}(.*)$/.exec(line);
    if (match?.[1] && match[2] !== undefined) result[match[1]] = match[2];
  }
  return result;
}

/** A release's revisions, oldest first, from its release records (no helm process needed). */
async function history(cluster: ClusterName, name: string, namespace: string): Promise<(HelmReleaseRecord & { description: string })[]> {
  const secrets = await clients[cluster].core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${name}` });
  return secrets.items
    .map((secret) => {
      const record = decodeReleaseSecret(secret, cluster);
      const raw = JSON.parse(decodeReleasePayload(Buffer.from(secret.data?.release ?? "", "base64").toString("latin1"))) as { info?: { description?: string } };
      return { ...record, description: raw.info?.description ?? "" };
    })
    .sort((a, b) => a.revision - b.revision);
}

async function readOrNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (httpStatus(error) === 404) return null;
    throw error;
  }
}

const configMap = (cluster: ClusterName, namespace: string, name: string) => readOrNull(() => clients[cluster].core.readNamespacedConfigMap({ name, namespace }));
const deployment = (cluster: ClusterName, namespace: string, name: string) => readOrNull(() => clients[cluster].apps.readNamespacedDeployment({ name, namespace }));
const namespaceOf = (cluster: ClusterName, name: string) => readOrNull(() => clients[cluster].core.readNamespace({ name }));
const lease = (cluster: ClusterName) => readOrNull(() => clients[cluster].coordination.readNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE }));

async function inventory(cluster: ClusterName): Promise<InventoryEntry[]> {
  const rest = new KubeRest(clients[cluster].kc, { cluster });
  try {
    return await readInventoryEntries(rest);
  } finally {
    rest.close();
  }
}

function journalOf(cluster: ClusterName): { entries: () => Promise<JournalEntry[]>; runs: () => Promise<JournalRun[]> } {
  return openJournal(new KubeRest(clients[cluster].kc, { cluster }), cluster, { runId: "reader", planRevision: null });
}

/** Identity, resourceVersion and generation of an object: equal before and after means it was not touched. */
function stamp(object: { metadata?: { uid?: string; resourceVersion?: string; generation?: number } } | null): string {
  return object === null ? "(absent)" : `${object.metadata?.uid ?? ""}@${object.metadata?.resourceVersion ?? ""}/${object.metadata?.generation ?? ""}`;
}

function apiServerPid(state: Awaited<ReturnType<typeof readState>>, cluster: ClusterName): number {
  const pid = state?.clusters.find((c) => c.name === cluster)?.processes.find((p) => p.component === "kube-apiserver")?.pid;
  if (pid === undefined) throw new Error(`no kube-apiserver pid for ${cluster} in the sandbox state`);
  return pid;
}

function thaw(pid: number): void {
  try {
    process.kill(pid, "SIGCONT");
  } catch {
    // already gone
  }
  frozen.delete(pid);
}

async function cleanUp(): Promise<void> {
  const helm = sharedSandbox().binaries.helm ?? "helm";
  for (const cluster of CLUSTERS) {
    const target = { kubeconfig: sharedSandbox().kubeconfig, context: cluster };
    const { core } = clients[cluster];
    for (const release of RELEASES) {
      if ((await history(cluster, release.name, release.namespace)).length === 0) continue;
      await helmUninstall(target, release.name, release.namespace, { helm }, { ignoreNotFound: true }).catch(() => undefined);
    }
    for (const name of ADDONS) await removeInventoryEntry(new KubeRest(clients[cluster].kc, { cluster }), name).catch(() => undefined);
    await deleteNamespaces(core, NAMESPACES);
    // A lock one of this file's runs left (the killed one) must not outlive the file.
    const held = await lease(cluster).catch(() => null);
    if (held && started.some((pid) => (held.spec?.holderIdentity ?? "").includes(`/pid ${pid}/`))) {
      await clients[cluster].coordination.deleteNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE }).catch(() => undefined);
    }
  }
}

beforeAll(async () => {
  // These fleets own alpha's and gamma's add-on inventories while they run: an entry another test left
  // behind would be uninstalled by the first apply. Refuse to start rather than touch it.
  for (const cluster of ["alpha", "gamma"] as const) {
    const foreign = (await inventory(cluster)).map((e) => e.name).filter((name) => !ADDONS.includes(name));
    if (foreign.length > 0) throw new Error(`${cluster}'s add-on inventory holds entries of another test (${foreign.join(", ")}); these tests would uninstall them`);
  }
  await cleanUp();
});

afterAll(async () => {
  for (const pid of [...frozen]) thaw(pid);
  await cleanUp();
  for (const dir of work) await fs.rm(dir, { recursive: true, force: true });
});

describe("bosun apply through the CLI", () => {
  it("converges the fleet wave by wave; then bosun plan --detailed-exitcode exits 0", async () => {
    const dir = await fleet("converge");
    const result = await apply(dir);
    expect(result.exitCode, output(result)).toBe(0);
    expect(result.stdout.indexOf("wave first: alpha")).toBeGreaterThan(-1);
    expect(result.stdout.indexOf("wave second: gamma")).toBeGreaterThan(result.stdout.indexOf("wave first: alpha"));
    expect(summary(result.stdout)).toEqual({ alpha: "converged (4 steps)", gamma: "converged (1 steps)" });

    for (const [cluster, name] of [["alpha", "acli-web"], ["alpha", "acli-cache"], ["gamma", "acli-web"]] as const) {
      expect((await history(cluster, name, name)).map((r) => [r.revision, r.status])).toEqual([[1, "deployed"]]);
      expect((await deployment(cluster, name, name))?.status?.readyReplicas).toBe(1);
    }
    expect((await configMap("gamma", "acli-web", "acli-web-settings"))?.data).toEqual({ message: "hello from gamma" });
    for (const name of ["acli-settings-a", "acli-settings-b", "acli-extra"]) {
      expect((await configMap("alpha", "acli-config", name))?.metadata?.labels?.["bosun.dev/addon"]).toBe(name === "acli-extra" ? "acli-extra" : "acli-config");
    }
    expect((await deployment("alpha", "acli-config", "acli-agent"))?.status?.availableReplicas).toBe(1);
    // Both locks were released, and the journals say the runs ended well.
    for (const cluster of ["alpha", "gamma"] as const) {
      expect(await lease(cluster)).toBeNull();
      expect((await journalOf(cluster).runs()).at(-1)).toMatchObject({ outcome: "succeeded" });
    }

    const plan = await bosun(["plan", "--fleet", dir, "--detailed-exitcode"], { env: cliEnv() });
    expect(plan.exitCode, output(plan)).toBe(0);
    expect(plan.stdout).toMatch(/alpha\s+wave first\s+in-sync/);
    expect(plan.stdout).toMatch(/gamma\s+wave second\s+in-sync/);
  });

  it("rolls a failing chart upgrade back, lets the other cluster of its wave finish, and never starts the next wave", async () => {
    const dir = await fleet("failure");
    const betaBefore = { journal: stamp(await readOrNull(() => clients.beta.core.readNamespacedConfigMap({ name: "bosun-journal", namespace: BOSUN_NAMESPACE }))), lease: stamp(await lease("beta")) };
    const result = await apply(dir);
    expect(result.exitCode, output(result)).toBe(1);
    const lines = summary(result.stdout);
    // The failure names its phase (helm upgrade failed while applying) before the reason.
    expect(lines.alpha).toMatch(/^failed at alpha\/addon\.upgrade\/acli-web \(apply\): .*rolled back to revision 1/);
    expect(lines.gamma).toBe("converged (1 steps)");
    expect(lines.beta).toMatch(/^halted: wave first failed \(alpha failed at alpha\/addon\.upgrade\/acli-web\); later waves do not start$/);
    expect(result.stdout).not.toContain("wave second:");

    // alpha: the failed revision is followed by a rollback to the one before; the live objects are that one's.
    const web = await history("alpha", "acli-web", "acli-web");
    expect(web.map((r) => [r.revision, r.status])).toEqual([[1, "superseded"], [2, "failed"], [3, "deployed"]]);
    expect(web[2]?.description).toBe("Rollback to 1");
    expect(web[2]?.config).toEqual(web[0]?.config);
    expect((await configMap("alpha", "acli-web", "acli-web-settings"))?.data).toEqual({ message: "hello from alpha" });
    expect(await configMap("alpha", "acli-web", "acli-web-check")).toBeNull();
    expect(await lease("alpha")).toBeNull();
    // gamma, in the same wave, finished its step.
    expect((await history("gamma", "acli-cache", "acli-cache")).map((r) => [r.revision, r.status])).toEqual([[1, "deployed"]]);
    // beta, in the next wave, was not touched at all: no release, no namespace, no lock, no journal write.
    expect(await history("beta", "acli-web", "acli-web")).toEqual([]);
    expect(await namespaceOf("beta", "acli-web")).toBeNull();
    expect({ journal: stamp(await readOrNull(() => clients.beta.core.readNamespacedConfigMap({ name: "bosun-journal", namespace: BOSUN_NAMESPACE }))), lease: stamp(await lease("beta")) }).toEqual(betaBefore);
  });

  it("reports a cluster that stops answering mid-run unreachable, and converges the others", async () => {
    const dir = await fleet("unreachable");
    const state = await readState(sandboxLayout(sharedSandbox().root, sharedSandbox().name));
    const gammaServer = apiServerPid(state, "gamma");
    const known = new Set((await journalOf("alpha").runs()).map((r) => r.runId));
    const run = startApply(dir);
    let result;
    try {
      // alpha (wave first) is in its slow step (about ten seconds): freeze gamma (wave second) now.
      await whileRunning(run, () =>
        eventually("alpha's acli-slow step started", async () => {
          const entry = (await journalOf("alpha").entries()).find((e) => e.stepId === "alpha/addon.install/acli-slow" && !known.has(e.runId));
          return entry?.state === "started" ? true : undefined;
        }, 60_000),
      );
      process.kill(gammaServer, "SIGSTOP");
      frozen.add(gammaServer);
      result = await run;
    } finally {
      thaw(gammaServer);
    }
    expect(result.exitCode, output(result)).toBe(1);
    const lines = summary(result.stdout);
    expect(lines.alpha).toBe("converged (1 steps)");
    // The frozen cluster did not hold the run up: its request deadline fired (its words say so), not a hang.
    expect(lines.gamma).toMatch(/^unreachable: cluster gamma: .*no answer for \d+ ms/);

    expect((await deployment("alpha", "acli-slow", "acli-slow"))?.status?.availableReplicas).toBe(1);
    // gamma, thawed: nothing of this run reached it, and it is not locked.
    expect(await history("gamma", "acli-later", "acli-later")).toEqual([]);
    expect(await namespaceOf("gamma", "acli-later")).toBeNull();
    expect(await lease("gamma")).toBeNull();
  });

  it("resumes an apply killed with SIGKILL mid-helm: takes over the dead run's lock, lets its helm finish, repeats no finished step", async () => {
    const dir = await fleet("kill");
    const known = new Set((await journalOf("gamma").runs()).map((r) => r.runId));
    const cacheBefore = await history("gamma", "acli-cache", "acli-cache");
    const run = startApply(dir);
    const pid = run.pid ?? -1;
    // Kill it once the first step (acli-web's upgrade) succeeded and helm is in the middle of the second
    // (acli-cache's upgrade, about ten seconds of --wait): its new revision is pending-upgrade.
    const runId = await whileRunning(run, () =>
      eventually("acli-web upgraded and acli-cache's upgrade under way", async () => {
        const entries = await journalOf("gamma").entries();
        const web = entries.find((e) => e.stepId === "gamma/addon.upgrade/acli-web" && !known.has(e.runId));
        const cache = entries.find((e) => e.stepId === "gamma/addon.upgrade/acli-cache" && e.runId === web?.runId);
        if (web?.state !== "succeeded" || cache?.state !== "started") return undefined;
        return (await history("gamma", "acli-cache", "acli-cache")).at(-1)?.status === "pending-upgrade" ? web.runId : undefined;
      }, 90_000),
    );
    process.kill(pid, "SIGKILL");
    const killedRun = await run;
    expect(killedRun.signal).toBe("SIGKILL");
    await eventually("the killed bosun gone", async () => ((await processGone(pid)) ? true : undefined));

    // What the crash left: the finished upgrade, the run unended, its lock held by the dead process (with
    // most of its 60 s lease to go), and the helm it started still at work on acli-cache.
    const web = await history("gamma", "acli-web", "acli-web");
    expect(web.at(-1)).toMatchObject({ status: "deployed", config: { message: "hello again from gamma" } });
    const webStamps = [stamp(await configMap("gamma", "acli-web", "acli-web-settings")), stamp(await deployment("gamma", "acli-web", "acli-web"))];
    expect((await journalOf("gamma").runs()).find((r) => r.runId === runId)?.endedAt).toBeUndefined();
    const held = await lease("gamma");
    expect(held?.spec?.holderIdentity).toBe(`bosun@${os.hostname()}/pid ${pid}/${runId}`);
    expect(leaseExpiry(held?.spec)?.getTime() ?? 0).toBeGreaterThan(Date.now() + 10_000);

    // Run again at once: the lock's holder was a bosun on this host whose process is gone, so it is taken
    // over without waiting for the lease; acli-cache's pending revision is left to the helm still working
    // on it rather than rolled back under it; the run converges.
    const resumed = await apply(dir);
    expect(resumed.exitCode, output(resumed)).toBe(0);
    expect(summary(resumed.stdout).gamma).toMatch(/^converged \(\d+ steps?\)$/);
    expect(resumed.stdout).toMatch(/add-on acli-cache: release is pending-upgrade at revision \d+, .*may still be working on it/);
    // The finished upgrade of acli-web is not done again: the fresh plan has nothing left for it (and if a
    // plan still listed it, the journal would make the run skip it). No new revision, no object touched.
    for (const line of resumed.stdout.split("\n").filter((l) => l.includes("gamma/addon.upgrade/acli-web"))) {
      expect(line).toMatch(/already done by the interrupted run, skipped/);
    }
    expect((await history("gamma", "acli-web", "acli-web")).length).toBe(web.length);
    expect([stamp(await configMap("gamma", "acli-web", "acli-web-settings")), stamp(await deployment("gamma", "acli-web", "acli-web"))]).toEqual(webStamps);
    // acli-cache: the killed run's revision finished by its helm — one new revision, no rollback, one
    // deployed revision in the whole history.
    const cache = await history("gamma", "acli-cache", "acli-cache");
    expect(cache.map((r) => r.status)).toEqual([...cacheBefore.map(() => "superseded"), "deployed"]);
    expect(cache.map((r) => r.description).join("\n")).not.toMatch(/Rollback/);
    expect((await deployment("gamma", "acli-cache", "acli-cache"))?.status?.availableReplicas).toBe(2);
    // The step the killed run never reached is done now.
    expect((await history("gamma", "acli-later", "acli-later")).map((r) => [r.revision, r.status])).toEqual([[1, "deployed"]]);
    // The journal closed the killed run (it crashed) and the resuming one; the lock is free.
    const runs = await journalOf("gamma").runs();
    expect(runs.find((r) => r.runId === runId)).toMatchObject({ outcome: "failed" });
    expect(runs.at(-1)).toMatchObject({ outcome: "succeeded" });
    expect(await lease("gamma")).toBeNull();

    const plan = await bosun(["plan", "--fleet", dir, "--detailed-exitcode"], { env: cliEnv() });
    expect(plan.exitCode, output(plan)).toBe(0);
  });

  it("finishes a Kustomize step that a killed apply left waiting for its workloads", async () => {
    const dir = await fleet("kill-kustomize");
    const known = new Set((await journalOf("gamma").runs()).map((r) => r.runId));
    const run = startApply(dir);
    const runId = await whileRunning(run, () =>
      eventually("acli-slow's objects applied, its Deployment not yet available", async () => {
        const slow = (await journalOf("gamma").entries()).find((e) => e.stepId === "gamma/addon.install/acli-slow" && !known.has(e.runId));
        return slow?.state === "started" && (await deployment("gamma", "acli-slow", "acli-slow")) !== null ? slow.runId : undefined;
      }, 90_000),
    );
    process.kill(run.pid ?? -1, "SIGKILL");
    await run;
    // Its objects are in place, exactly as the spec wants them; only the inventory says nobody saw them ready.
    const created = stamp(await deployment("gamma", "acli-slow", "acli-slow"));
    expect((await inventory("gamma")).find((e) => e.name === "acli-slow")).toMatchObject({ incomplete: true });

    const plan = await bosun(["plan", "--fleet", dir, "--detailed-exitcode"], { env: cliEnv() });
    expect(plan.exitCode, output(plan)).toBe(2);
    expect(plan.stdout).toMatch(/addon\.install\s+apply Kustomize overlay addons\/slow as acli-slow \(2 objects, 2 already as desired\)/);

    const resumed = await apply(dir);
    expect(resumed.exitCode, output(resumed)).toBe(0);
    expect(summary(resumed.stdout).gamma).toBe("converged (1 steps)");
    // When the resuming run says it is done, the interrupted step is finished: its Deployment available
    // (ten seconds after it was created: a run that did not wait would be too early), the step journaled
    // as succeeded by the resuming run, the mark gone — and its objects were not made again.
    expect((await deployment("gamma", "acli-slow", "acli-slow"))?.status?.availableReplicas).toBe(1);
    const slow = (await journalOf("gamma").entries()).find((e) => e.stepId === "gamma/addon.install/acli-slow");
    expect(slow?.state).toBe("succeeded");
    expect(slow?.runId).not.toBe(runId);
    expect((await inventory("gamma")).find((e) => e.name === "acli-slow")).not.toHaveProperty("incomplete");
    expect(stamp(await deployment("gamma", "acli-slow", "acli-slow")).split("@")[0]).toBe(created.split("@")[0]);
    expect((await bosun(["plan", "--fleet", dir, "--detailed-exitcode"], { env: cliEnv() })).exitCode).toBe(0);
  });

  it("of two applies at once on one cluster, one refuses naming the other's lock, the other converges", async () => {
    const dir = await fleet("concurrent");
    // By run id, not by count: the journal keeps the last ten runs, and other files' runs fill it.
    const runsBefore = new Set((await journalOf("alpha").runs()).map((r) => r.runId));
    const first = startApply(dir, "--cluster", "alpha");
    const second = startApply(dir, "--cluster", "alpha");
    const results = await Promise.all([first, second]);
    const pids = [first.pid, second.pid];
    const winner = results.findIndex((r) => r.exitCode === 0);
    const loser = 1 - winner;
    expect(winner, results.map(output).join("\n----\n")).toBeGreaterThanOrEqual(0);
    expect(results[loser]?.exitCode, results.map(output).join("\n----\n")).toBe(1);
    expect(summary(String(results[winner]?.stdout)).alpha).toBe("converged (1 steps)");
    expect(summary(String(results[loser]?.stdout)).alpha).toMatch(new RegExp(`^failed at alpha/lock: cluster alpha is locked by bosun@.*/pid ${String(pids[winner])}/`));
    // acli-busy was installed once (the loser never got to helm), and only the winner's run is journaled.
    expect((await history("alpha", "acli-busy", "acli-busy")).map((r) => [r.revision, r.status])).toEqual([[1, "deployed"]]);
    expect((await journalOf("alpha").runs()).filter((r) => !runsBefore.has(r.runId))).toHaveLength(1);
    expect(await lease("alpha")).toBeNull();
  });

  it("prunes what left the spec or an overlay, and nothing else", async () => {
    const dir = await fleet("prune", async (d) => {
      // settings-b.yaml leaves acli-config's overlay.
      const file = path.join(d, "addons/config/kustomization.yaml");
      await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace("  - settings-b.yaml\n", ""));
    });
    // Objects nobody declared, in namespaces the add-ons use: bosun must leave them alone.
    for (const namespace of ["acli-config", "acli-cache"]) {
      await clients.alpha.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "acli-bystander", namespace }, data: { owner: "the test" } } });
    }
    const survivors = async (): Promise<Record<string, string>> => ({
      namespace: stamp(await namespaceOf("alpha", "acli-config")),
      settingsA: stamp(await configMap("alpha", "acli-config", "acli-settings-a")),
      agent: stamp(await deployment("alpha", "acli-config", "acli-agent")),
      webSettings: stamp(await configMap("alpha", "acli-web", "acli-web-settings")),
      web: stamp(await deployment("alpha", "acli-web", "acli-web")),
      bystander: stamp(await configMap("alpha", "acli-config", "acli-bystander")),
      cacheBystander: stamp(await configMap("alpha", "acli-cache", "acli-bystander")),
      webRevisions: String((await history("alpha", "acli-web", "acli-web")).length),
    });
    const before = await survivors();
    expect(Object.values(before)).not.toContain("(absent)");

    const result = await apply(dir, "--cluster", "alpha");
    expect(result.exitCode, output(result)).toBe(0);
    for (const step of ["alpha/addon.prune/acli-config", "alpha/addon.uninstall/acli-extra", "alpha/addon.uninstall/acli-cache", "alpha/addon.uninstall/acli-slow", "alpha/addon.uninstall/acli-busy"]) {
      expect(result.stdout).toContain(`alpha: ${step}: `);
    }
    expect(summary(result.stdout).alpha).toBe("converged (5 steps)");

    // Gone: the object that left the overlay, the removed Kustomize add-ons' objects, the removed releases.
    expect(await configMap("alpha", "acli-config", "acli-settings-b")).toBeNull();
    expect(await configMap("alpha", "acli-config", "acli-extra")).toBeNull();
    for (const name of ["acli-cache", "acli-busy"]) {
      expect(await history("alpha", name, name)).toEqual([]);
      expect(await deployment("alpha", name, name)).toBeNull();
      expect(await configMap("alpha", name, `${name}-settings`)).toBeNull();
    }
    expect(await deployment("alpha", "acli-slow", "acli-slow")).toBeNull();
    await eventually("namespace acli-slow (acli-slow's own) gone", async () => ((await namespaceOf("alpha", "acli-slow")) === null ? true : undefined));
    // Untouched: the other add-ons' objects, the release that stays, and the objects nobody declared.
    expect(await survivors()).toEqual(before);
    expect((await inventory("alpha")).map((e) => e.name).sort()).toEqual(["acli-config", "acli-web"]);

    const plan = await bosun(["plan", "--fleet", dir, "--cluster", "alpha", "--detailed-exitcode"], { env: cliEnv() });
    expect(plan.exitCode, output(plan)).toBe(0);
  });
});
