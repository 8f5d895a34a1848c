/**
 * Foundations of the executor against the shared sandbox (cluster gamma), each proved from the API
 * server's audit log rather than from bosun's own counters:
 *
 * - a stolen lock stops the run mid-step: once bosun's renewal met the thief's Lease, no write by bosun
 *   follows, and the run reports the lost lock;
 * - inventory ids carry the API group: two custom resources of the same Kind, namespace and name in two
 *   groups are told apart, and only the one that left the overlay is pruned;
 * - `addon.prune` prunes and applies nothing, `addon.apply` applies and deletes nothing, each journalled
 *   under its own step id.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { V1MicroTime } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { removeInventoryEntry } from "../../src/addons/inventory.js";
import { executeCluster, type ClusterRun } from "../../src/apply/execute.js";
import { openJournal } from "../../src/apply/journal.js";
import { LOCK_NAME } from "../../src/apply/lease.js";
import { newRunId } from "../../src/apply/lock.js";
import { BOSUN_NAMESPACE } from "../../src/constants.js";
import { planFleet } from "../../src/observe/plan-fleet.js";
import type { ClusterPlan } from "../../src/plan/types.js";
import { loadFleet } from "../../src/spec/load.js";
import type { DesiredCluster } from "../../src/spec/types.js";
import { auditMark, type AuditEvent } from "../support/audit.js";
import { deleteNamespaces, eventually, sandboxCluster, sandboxRest, sharedSandbox } from "../support/sandbox.js";

const CLUSTER = "gamma";
const RUN = randomBytes(3).toString("hex");
const gamma = sandboxCluster(CLUSTER);
const MANY = `fa-many-${RUN}`;
const GROUPS = `fa-groups-${RUN}`;
const PRUNE = `fa-prune-${RUN}`;
const GROUP_A = `a${RUN}.bosun.test`;
const GROUP_B = `b${RUN}.bosun.test`;
const CONFIG_MAPS = 300;
let fleetDir: string;
const lines: string[] = [];

const FLEET = `apiVersion: bosun.dev/v1alpha1
kind: Fleet
metadata:
  name: foundations-test
spec:
  defaults:
    provider:
      kubeadm: { packageManager: apt }
`;

function clusterSpec(addon: string): string {
  return `apiVersion: bosun.dev/v1alpha1
kind: Cluster
metadata:
  name: ${CLUSTER}
spec:
  connection: { context: ${CLUSTER} }
  kubernetes: { version: "1.35.4" }
  topology:
    controlPlane: { replicas: 1, zones: [zone-a] }
    endpoint: api.gamma.test:6443
  addons:
    - name: ${addon}
      kustomize: { path: overlays/${addon} }
`;
}

/** Writes the fleet with one Kustomize add-on whose overlay holds `documents` (YAML objects). */
async function writeFleet(addon: string, documents: readonly string[]): Promise<void> {
  await fs.writeFile(path.join(fleetDir, "fleet.yaml"), FLEET);
  await fs.mkdir(path.join(fleetDir, "clusters"), { recursive: true });
  await fs.rm(path.join(fleetDir, "clusters"), { recursive: true, force: true });
  await fs.mkdir(path.join(fleetDir, "clusters"), { recursive: true });
  await fs.writeFile(path.join(fleetDir, "clusters", `${CLUSTER}.yaml`), clusterSpec(addon));
  const dir = path.join(fleetDir, "overlays", addon);
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, "objects.yaml"), documents.join("---\n"));
  await fs.writeFile(path.join(dir, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - objects.yaml\n");
}

/**
 * The steps of `addon` as `bosun plan` computes them now (upgrade and backup steps, and the uninstall of
 * the add-ons of earlier tests, are not this test's business).
 */
async function planOf(addon: string): Promise<{ plan: ClusterPlan; desired: DesiredCluster }> {
  const env = { ...process.env, KUBECONFIG: sharedSandbox().kubeconfig };
  const result = await planFleet({ source: { fleet: fleetDir }, clusters: [CLUSTER], env, clusterTimeoutMs: 120_000, now: new Date() });
  if (!result.ok) throw new Error("fixture fleet invalid");
  const loaded = await loadFleet(fleetDir);
  const desired = loaded.ok ? loaded.value.clusters.find((c) => c.name === CLUSTER) : undefined;
  const plan = result.plan.clusters[0];
  if (!plan || !desired) throw new Error(`no plan for ${CLUSTER}`);
  return { plan: { ...plan, steps: plan.steps.filter((s) => "addon" in s && s.addon === addon) }, desired };
}

function runOf(plan: ClusterPlan, desired: DesiredCluster, more: Partial<ClusterRun> = {}): ClusterRun {
  return {
    desired,
    plan,
    rest: sandboxRest(CLUSTER),
    fleetDir,
    env: { ...process.env, KUBECONFIG: sharedSandbox().kubeconfig },
    runId: newRunId(),
    planRevision: null,
    leaseSeconds: 30,
    kustomize: sharedSandbox().binaries.kustomize ?? "kustomize",
    log: (line) => lines.push(line),
    ...more,
  };
}

const namespaceDoc = (name: string): string => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`;
const configMapDoc = (namespace: string, name: string, value = "v1"): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\ndata:\n  value: "${value}"\n`;

const isBosun = (e: AuditEvent): boolean => e.userAgent === "bosun";
const isLease = (e: AuditEvent): boolean => e.requestURI.includes(`/namespaces/${BOSUN_NAMESPACE}/leases/${LOCK_NAME}`);
const isJournalUpdate = (e: AuditEvent): boolean => isBosun(e) && e.verb === "update" && e.requestURI.startsWith(`/api/v1/namespaces/${BOSUN_NAMESPACE}/configmaps/bosun-journal`) && e.responseStatus?.code === 200;
const inNamespace = (namespace: string) => (e: AuditEvent): boolean => e.requestURI.startsWith(`/api/v1/namespaces/${namespace}/`);

beforeAll(async () => {
  fleetDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-foundations-"));
});

// Each test starts without a lock (a failed steal test would leave the thief's).
beforeEach(async () => {
  await gamma.coordination.deleteNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE }).catch(() => undefined);
});

afterAll(async () => {
  for (const name of [MANY, GROUPS, PRUNE]) await removeInventoryEntry(sandboxRest(CLUSTER), name).catch(() => undefined);
  await deleteNamespaces(gamma.core, [MANY, GROUPS, PRUNE]);
  for (const group of [GROUP_A, GROUP_B]) {
    await sandboxRest(CLUSTER).remove(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.${group}`).catch(() => undefined);
  }
  await gamma.coordination.deleteNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE }).catch(() => undefined);
  await fs.rm(fleetDir, { recursive: true, force: true });
});

describe("a lost lock stops the run mid-step", () => {
  it("sends no write after its renewal met the thief's Lease, and reports the lost lock", async () => {
    await writeFleet(MANY, [namespaceDoc(MANY), ...Array.from({ length: CONFIG_MAPS }, (_, i) => configMapDoc(MANY, `cm-${String(i).padStart(3, "0")}`))]);
    const { plan, desired } = await planOf(MANY);
    expect(plan.steps.map((s) => s.kind)).toEqual(["addon.install"]);
    const since = await auditMark(CLUSTER);

    // A short lease renewed twice a second, so the renewal that meets the thief comes while objects are
    // still being applied.
    const running = executeCluster(runOf(plan, desired, { leaseSeconds: 5, renewEverySeconds: 0.5 }), new AbortController().signal);
    await eventually("bosun applying the ConfigMaps", async () => (await gamma.core.readNamespacedConfigMap({ name: "cm-010", namespace: MANY }).catch(() => undefined)) ? true : undefined, 120_000);
    // The thief (not bosun: the generated client's User-Agent) takes the Lease, as a forced takeover would;
    // a renewal landing between its read and its write makes it read again.
    await eventually("the thief holding the Lease", async () => {
      const lease = await gamma.coordination.readNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE });
      const spec = lease.spec ?? {};
      spec.holderIdentity = "bosun@elsewhere/pid 7/thief";
      spec.renewTime = new V1MicroTime(Date.now());
      lease.spec = spec;
      await gamma.coordination.replaceNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE, body: lease });
      return true;
    }, 30_000);
    const outcome = await running;

    expect(outcome.kind, lines.join("\n")).toBe("failed");
    expect(outcome.kind === "failed" ? outcome.reason : "").toMatch(/lost the lock bosun-system\/bosun-lock: bosun@elsewhere\/pid 7\/thief took it over/);

    const events = await since();
    const stealIndex = events.findIndex((e) => isLease(e) && e.verb === "update" && !isBosun(e) && e.responseStatus?.code === 200);
    expect(stealIndex).toBeGreaterThanOrEqual(0);
    const steal = events[stealIndex] as AuditEvent;
    // bosun's renewal after the steal: its compare-and-swap was refused (the thief's write changed the
    // resourceVersion), which is how bosun learned it lost the lock.
    const renewal = events.find((e) => isBosun(e) && isLease(e) && e.requestReceivedTimestamp > steal.requestReceivedTimestamp);
    expect(renewal?.verb).toBe("update");
    expect(renewal?.responseStatus?.code).toBe(409);
    const after = events.filter((e) => isBosun(e) && e.requestReceivedTimestamp > (renewal?.stageTimestamp ?? ""));
    expect(after.map((e) => `${e.verb} ${e.requestURI}`)).toEqual([]);
    // Stopped mid-step: objects of the overlay were never applied (not even attempted).
    const applies = events.filter((e) => isBosun(e) && e.verb === "patch" && inNamespace(MANY)(e));
    expect(applies.length).toBeGreaterThan(10);
    expect(applies.length).toBeLessThan(CONFIG_MAPS);
    // The lock is the thief's: the stopped run did not release (delete) it.
    expect((await gamma.coordination.readNamespacedLease({ name: LOCK_NAME, namespace: BOSUN_NAMESPACE })).spec?.holderIdentity).toBe("bosun@elsewhere/pid 7/thief");
  });
});

function crdDoc(group: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;
}

const gadgetDoc = (group: string): string => `apiVersion: ${group}/v1\nkind: Gadget\nmetadata:\n  name: same\n  namespace: ${GROUPS}\nspec:\n  from: ${group}\n`;

describe("inventory ids carry the API group", () => {
  it("prunes only the custom resource that left the overlay when two groups share its Kind, namespace and name", async () => {
    await writeFleet(GROUPS, [crdDoc(GROUP_A), crdDoc(GROUP_B), namespaceDoc(GROUPS), gadgetDoc(GROUP_A), gadgetDoc(GROUP_B)]);
    const installed = await planOf(GROUPS);
    expect(installed.plan.steps.map((s) => s.kind)).toEqual(["addon.install"]);
    expect(await executeCluster(runOf(installed.plan, installed.desired), new AbortController().signal), lines.join("\n")).toEqual({ kind: "converged", steps: 1 });
    const rest = sandboxRest(CLUSTER);
    const gadget = (group: string): Promise<unknown> => rest.get(`/apis/${group}/v1/namespaces/${GROUPS}/gadgets/same`);
    expect(await gadget(GROUP_A)).not.toBeNull();
    expect(await gadget(GROUP_B)).not.toBeNull();

    await writeFleet(GROUPS, [crdDoc(GROUP_A), crdDoc(GROUP_B), namespaceDoc(GROUPS), gadgetDoc(GROUP_A)]);
    const pruning = await planOf(GROUPS);
    expect(pruning.plan.steps.map((s) => [s.kind, s.kind === "addon.prune" ? s.objects : []])).toEqual([["addon.prune", [`Gadget.${GROUP_B}/${GROUPS}/same`]]]);
    expect(await executeCluster(runOf(pruning.plan, pruning.desired), new AbortController().signal), lines.join("\n")).toEqual({ kind: "converged", steps: 1 });
    expect(await gadget(GROUP_A)).not.toBeNull();
    expect(await gadget(GROUP_B)).toBeNull();
    expect((await planOf(GROUPS)).plan.steps).toEqual([]);
  });
});

describe("each add-on step does what its kind says", () => {
  it("journals apply and prune under their own ids; the apply deletes nothing and the prune applies nothing", async () => {
    await writeFleet(PRUNE, [namespaceDoc(PRUNE), configMapDoc(PRUNE, "c1"), configMapDoc(PRUNE, "c2"), configMapDoc(PRUNE, "c3")]);
    const installed = await planOf(PRUNE);
    expect(await executeCluster(runOf(installed.plan, installed.desired), new AbortController().signal), lines.join("\n")).toEqual({ kind: "converged", steps: 1 });

    // c1 changes, c2 leaves the overlay: an addon.apply and an addon.prune.
    await writeFleet(PRUNE, [namespaceDoc(PRUNE), configMapDoc(PRUNE, "c1", "v2"), configMapDoc(PRUNE, "c3")]);
    const { plan, desired } = await planOf(PRUNE);
    expect(plan.steps.map((s) => s.id)).toEqual([`${CLUSTER}/addon.apply/${PRUNE}`, `${CLUSTER}/addon.prune/${PRUNE}`]);
    const since = await auditMark(CLUSTER);
    const run = runOf(plan, desired);
    expect(await executeCluster(run, new AbortController().signal), lines.join("\n")).toEqual({ kind: "converged", steps: 2 });

    const entries = await openJournal(sandboxRest(CLUSTER), CLUSTER, { runId: newRunId(), planRevision: null }).entries();
    const ours = new Map(entries.filter((e) => e.runId === run.runId).map((e) => [e.stepId, e]));
    expect(ours.get(`${CLUSTER}/addon.apply/${PRUNE}`)).toMatchObject({ state: "succeeded", detail: "applied: 3 objects" });
    expect(ours.get(`${CLUSTER}/addon.prune/${PRUNE}`)).toMatchObject({ state: "succeeded", detail: `pruned 1 objects: ConfigMap/${PRUNE}/c2` });

    // The journal's writes split the audit log into steps: started(apply), succeeded(apply),
    // started(prune), succeeded(prune), end of run.
    const events = (await since()).filter(isBosun);
    const marks = events.flatMap((e, i) => (isJournalUpdate(e) ? [i] : []));
    expect(marks).toHaveLength(5);
    const [applyStart = 0, applyEnd = 0, pruneStart = 0, pruneEnd = 0] = marks;
    const writes = (from: number, to: number): string[] => events.slice(from + 1, to).filter(inNamespace(PRUNE)).map((e) => `${e.verb} ${e.requestURI.replace(/\?.*$/, "")}`);
    expect(writes(applyStart, applyEnd).filter((w) => w.startsWith("delete"))).toEqual([]);
    expect(writes(applyStart, applyEnd)).toContain(`patch /api/v1/namespaces/${PRUNE}/configmaps/c1`);
    expect(writes(pruneStart, pruneEnd)).toEqual([`delete /api/v1/namespaces/${PRUNE}/configmaps/c2`]);
    expect((await planOf(PRUNE)).plan.steps).toEqual([]);
  });
});
