/**
 * Applying add-ons against a real API server with the real helm and kustomize (src/addons/helm-apply.ts,
 * kustomize-apply.ts, health.ts), on the fixture fleet test/fixtures/fleets/apply: installs and upgrades,
 * idempotent re-runs (no new revision), drift undone, failures rolled back, releases left `pending-*` by a
 * killed helm recovered, server-side apply with CRDs first, pruning (and a prune that fails), deletes — and
 * after every apply, `observeAddons` finds nothing to do (the plan right after an apply is empty).
 *
 * The Helm tests run with the sandbox's helm (Helm 4), and once more with a Helm 3 binary when
 * BOSUN_TEST_HELM3 names one. Every name is unique to the run (the fixture's __RUN__ placeholder), and
 * everything is removed afterwards.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { AddonApplyError, HealthTimeoutError } from "../../src/addons/health.js";
import { applyHelmAddon, uninstallHelmAddon, type HelmApplyContext } from "../../src/addons/helm-apply.js";
import { readInventoryEntries, removeInventoryEntry, type InventoryEntry } from "../../src/addons/inventory.js";
import { applyKustomizeAddon, deleteKustomizeAddon, pruneKustomizeAddon, type KustomizeApplyContext } from "../../src/addons/kustomize-apply.js";
import { observeAddons } from "../../src/addons/observe.js";
import { KubeRest } from "../../src/kube/rest.js";
import { loadFleet } from "../../src/spec/load.js";
import type { DesiredAddon, DesiredCluster } from "../../src/spec/types.js";
import { helmFeatures, helmUninstall } from "../../src/tools/helm.js";
import { eventually, sandboxCluster, sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/apply");
const RUN = randomBytes(3).toString("hex");
const TOKEN_ENV = "BOSUN_SECRET_TEST_ECHO_TOKEN";
const TOKEN = `echo-token-${randomBytes(12).toString("hex")}`;
const ENV = { [TOKEN_ENV]: TOKEN };

const clients = sandboxCluster("alpha");
const target = (): { kubeconfig: string; context: string } => ({ kubeconfig: sharedSandbox().kubeconfig, context: "alpha" });
const tools = (): { helm: string; kustomize: string } => ({
  helm: sharedSandbox().binaries.helm ?? "helm",
  kustomize: sharedSandbox().binaries.kustomize ?? "kustomize",
});
const newRest = (): KubeRest => new KubeRest(clients.kc, { cluster: "alpha" });

/** Everything the run creates, for afterAll: releases (with the helm that made them), add-on names, namespaces. */
const cleanup = { releases: [] as { name: string; namespace: string; helm: string }[], addons: new Set<string>(), namespaces: new Set<string>(), crds: new Set<string>(), policies: new Set<string>(), dirs: [] as string[] };

/** A private copy of the fixture fleet with `run` for __RUN__, and its cluster `alpha` as loaded by the spec loader. */
async function fleetFor(run: string): Promise<{ dir: string; cluster: DesiredCluster }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-apply-fleet-"));
  cleanup.dirs.push(dir);
  await fs.cp(FIXTURE, dir, { recursive: true });
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    await fs.writeFile(file, (await fs.readFile(file, "utf8")).replaceAll("__RUN__", run));
  }
  const loaded = await loadFleet(dir);
  if (!loaded.ok) throw new Error(`fixture fleet invalid: ${JSON.stringify(loaded.errors)}`);
  const cluster = loaded.value.clusters.find((c) => c.name === "alpha");
  if (!cluster) throw new Error("the fixture fleet has no cluster alpha");
  return { dir, cluster };
}

function addonOf(cluster: DesiredCluster, prefix: string): DesiredAddon {
  const addon = cluster.addons.find((a) => a.name.startsWith(`${prefix}-`));
  if (!addon) throw new Error(`no add-on ${prefix}-*`);
  return addon;
}

/** The add-on with inline values replaced (and optionally other fields). */
function variant(addon: DesiredAddon, values: Record<string, unknown>, more: Partial<DesiredAddon> = {}): DesiredAddon {
  if (addon.source.kind !== "helm") throw new Error("not a Helm add-on");
  return { ...addon, ...more, source: { ...addon.source, values } };
}

function context(helm: string, log: string[] = []): HelmApplyContext & KustomizeApplyContext {
  // pendingGraceSeconds 0: the releases these tests leave pending-* were left by a helm they killed
  // themselves (killHelmMidway), so none is still at work on them: recover at once.
  return { rest: newRest(), target: target(), helm, kustomize: tools().kustomize, log: (line) => log.push(line), pendingGraceSeconds: 0 };
}

/** The release's records (every revision), as `{revision: status}`. */
async function revisions(name: string, namespace: string): Promise<Record<number, string>> {
  const list = await clients.core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${name}` });
  return Object.fromEntries(list.items.map((s) => [Number(s.metadata?.labels?.version), s.metadata?.labels?.status ?? ""]));
}

async function inventoryEntry(name: string): Promise<InventoryEntry | undefined> {
  return (await readInventoryEntries(newRest())).find((e) => e.name === name);
}

/** Observes `addons` as `bosun plan` would and expects nothing to do: every object unchanged, no values diff, nothing to prune. */
async function expectInSync(addons: DesiredAddon[], dir: string): Promise<void> {
  const result = await observeAddons(newRest(), { name: "alpha", addons }, dir, ENV, tools());
  for (const observed of result.observed.desired) {
    if (!observed.render.ok) throw new Error(`${observed.name}: render failed: ${observed.render.error}`);
    const changed = observed.render.objects.filter((o) => o.action !== "unchanged");
    expect(changed.map((o) => `${o.id}: ${o.action}\n${o.diff}`), observed.name).toEqual([]);
    expect(observed.render.prune, observed.name).toEqual([]);
    if (observed.kind === "helm") {
      expect(observed.render.valuesDiff, observed.name).toBeNull();
      expect(observed.release?.status, observed.name).toBe("deployed");
    } else {
      expect(observed.applied, observed.name).toBe(true);
    }
  }
}

/** Starts `helm upgrade --install --wait` of a release that will never be ready and kills it once its record is `pending-*`. */
async function killHelmMidway(helm: string, chartDir: string, name: string, namespace: string, pending: "pending-install" | "pending-upgrade"): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-apply-values-"));
  cleanup.dirs.push(dir);
  const values = path.join(dir, "values.json");
  await fs.writeFile(values, JSON.stringify({ unschedulable: true, message: "never ready", auth: { token: TOKEN } }), { mode: 0o600 });
  const { kubeconfig, context: kubeContext } = target();
  const child = execa(helm, ["upgrade", "--install", "--kubeconfig", kubeconfig, "--kube-context", kubeContext, "--namespace", namespace, "--create-namespace", "--values", values, "--wait", "--timeout", "300s", "--", name, chartDir], { reject: false });
  try {
    await eventually(`${name} ${pending}`, async () => (Object.values(await revisions(name, namespace)).includes(pending) ? true : undefined), 60_000);
  } finally {
    child.kill("SIGKILL");
    await child;
  }
}

async function deploymentReplicas(namespace: string, name: string): Promise<{ spec: number | undefined; ready: number | undefined }> {
  const d = await clients.apps.readNamespacedDeployment({ name, namespace });
  return { spec: d.spec?.replicas, ready: d.status?.readyReplicas };
}

afterAll(async () => {
  for (const name of cleanup.policies) {
    await clients.objects.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name } }).catch(() => undefined);
    await clients.objects.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name } }).catch(() => undefined);
  }
  for (const release of cleanup.releases) await helmUninstall(target(), release.name, release.namespace, { helm: release.helm }, { ignoreNotFound: true }).catch(() => undefined);
  for (const name of cleanup.addons) await removeInventoryEntry(newRest(), name).catch(() => undefined);
  for (const name of cleanup.crds) await clients.objects.delete({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name } }).catch(() => undefined);
  for (const name of cleanup.namespaces) await clients.core.deleteNamespace({ name }).catch(() => undefined);
  for (const dir of cleanup.dirs) await fs.rm(dir, { recursive: true, force: true });
});

/** The Helm verbs, run with one helm binary. */
function helmSuite(label: string, helmPath: () => string, run: string): void {
  describe(`Helm add-ons with ${label}`, () => {
    let dir = "";
    let echo: DesiredAddon;
    let changed: DesiredAddon;
    let cluster: DesiredCluster;
    const helm = (): string => helmPath();
    const ns = `echo-${run}`;
    const name = `echo-${run}`;

    it("installs; a re-apply is unchanged and makes no new revision", async () => {
      ({ dir, cluster } = await fleetFor(run));
      echo = addonOf(cluster, "echo");
      changed = variant(echo, { message: "changed by the fleet" });
      cleanup.releases.push({ name, namespace: ns, helm: helm() });
      cleanup.addons.add(name);
      cleanup.namespaces.add(ns);
      const features = await helmFeatures({ helm: helm() });
      console.info(`${label}: ${features.version} (rollback flag ${features.rollbackOnFailureFlag}, release labels ${String(features.releaseLabels)})`);

      let started = performance.now();
      const log: string[] = [];
      expect(await applyHelmAddon(context(helm(), log), cluster, echo, dir, ENV)).toEqual({ outcome: "installed", revision: 1 });
      const installMs = performance.now() - started;
      expect(await deploymentReplicas(ns, name)).toEqual({ spec: 2, ready: 2 });
      const record = await clients.core.readNamespacedSecret({ name: `sh.helm.release.v1.${name}.v1`, namespace: ns });
      if (features.releaseLabels) expect(record.metadata?.labels?.["bosun.dev/addon"]).toBe(name);
      expect(await inventoryEntry(name)).toMatchObject({ kind: "helm", namespace: ns, objects: [], secretPaths: [["auth", "token"]] });
      await expectInSync([echo], dir);

      started = performance.now();
      expect(await applyHelmAddon(context(helm()), cluster, echo, dir, ENV)).toEqual({ outcome: "unchanged", revision: 1 });
      const unchangedMs = performance.now() - started;
      expect(await revisions(name, ns)).toEqual({ 1: "deployed" });
      for (const line of log) expect(line).not.toContain(TOKEN);
      console.info(`${label}: install ${Math.round(installMs)} ms, unchanged re-apply ${Math.round(unchangedMs)} ms`);
    });

    it("a values change upgrades to revision 2", async () => {
      expect(await applyHelmAddon(context(helm()), cluster, changed, dir, ENV)).toEqual({ outcome: "upgraded", revision: 2 });
      const settings = await clients.core.readNamespacedConfigMap({ name: `${name}-settings`, namespace: ns });
      expect(settings.data?.message).toBe("changed by the fleet");
      expect(await revisions(name, ns)).toEqual({ 1: "superseded", 2: "deployed" });
      await expectInSync([changed], dir);
      expect(await applyHelmAddon(context(helm()), cluster, changed, dir, ENV)).toEqual({ outcome: "unchanged", revision: 2 });
    });

    it("a hand edit of a release's object is drift: the next apply upgrades and undoes it", async () => {
      await clients.apps.patchNamespacedDeployment(
        { name, namespace: ns, fieldManager: "kubectl-edit", body: { spec: { replicas: 3 } } },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      );
      expect(await applyHelmAddon(context(helm()), cluster, changed, dir, ENV)).toEqual({ outcome: "upgraded", revision: 3 });
      expect(await deploymentReplicas(ns, name)).toEqual({ spec: 2, ready: 2 });
      await expectInSync([changed], dir);
    });

    it("a failing upgrade is rolled back to the deployed revision; the error withholds helm's words (secret values)", async () => {
      const failing = variant(echo, { message: "changed by the fleet", unschedulable: true }, { timeoutSeconds: 8 });
      const started = performance.now();
      const error = await applyHelmAddon(context(helm()), cluster, failing, dir, ENV).then(
        () => undefined,
        (e: unknown) => e,
      );
      console.info(`${label}: failed upgrade and rollback ${Math.round(performance.now() - started)} ms`);
      expect(error).toBeInstanceOf(AddonApplyError);
      const failure = error as AddonApplyError;
      expect(failure).toMatchObject({ reason: "ApplyFailed", phase: "apply", addon: name });
      expect(failure.message).toContain("rolled back to revision 3 (as revision 5, deployed)");
      expect(failure.message).toContain("its message is not shown because");
      expect(failure.cause).toBeUndefined();
      for (const text of [failure.message, failure.stack ?? "", JSON.stringify(failure)]) expect(text).not.toContain(TOKEN);
      expect(await revisions(name, ns)).toMatchObject({ 3: "superseded", 4: "failed", 5: "deployed" });
      expect(await deploymentReplicas(ns, name)).toEqual({ spec: 2, ready: 2 });
      // The release is what it was before the failed upgrade: nothing to do for the previous spec.
      await expectInSync([changed], dir);
    });

    it("a failing first install is uninstalled; without secret values helm's words are kept", async () => {
      const failName = `fail-${run}`;
      cleanup.releases.push({ name: failName, namespace: failName, helm: helm() });
      cleanup.namespaces.add(failName);
      cleanup.addons.add(failName);
      const source = echo.source.kind === "helm" ? echo.source : undefined;
      if (!source) throw new Error("echo is not a Helm add-on");
      const failing: DesiredAddon = { ...echo, name: failName, namespace: failName, timeoutSeconds: 8, source: { ...source, values: { unschedulable: true }, secretValues: [] } };
      const error = await applyHelmAddon(context(helm()), cluster, failing, dir, {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AddonApplyError);
      expect((error as AddonApplyError).message).toContain("the failed install was uninstalled");
      expect((error as AddonApplyError).message).toMatch(/has been uninstalled due to/);
      expect(await revisions(failName, failName)).toEqual({});
      expect(await inventoryEntry(failName)).toBeUndefined();
    });

    it("a release left pending-upgrade by a killed helm is rolled back, then upgraded", async () => {
      await killHelmMidway(helm(), path.join(dir, "addons/charts/echo"), name, ns, "pending-upgrade");
      expect(await revisions(name, ns)).toMatchObject({ 5: "deployed", 6: "pending-upgrade" });
      const log: string[] = [];
      expect(await applyHelmAddon(context(helm(), log), cluster, changed, dir, ENV)).toEqual({ outcome: "recovered-and-upgraded", revision: 8 });
      expect(log.join("\n")).toContain("rolled back to revision 5");
      expect(await revisions(name, ns)).toMatchObject({ 7: "superseded", 8: "deployed" });
      expect(await deploymentReplicas(ns, name)).toEqual({ spec: 2, ready: 2 });
      await expectInSync([changed], dir);
      expect(await applyHelmAddon(context(helm()), cluster, changed, dir, ENV)).toEqual({ outcome: "unchanged", revision: 8 });
    });

    it("a release left pending-install by a killed helm is uninstalled, then installed", async () => {
      const pendName = `pend-${run}`;
      cleanup.releases.push({ name: pendName, namespace: pendName, helm: helm() });
      cleanup.namespaces.add(pendName);
      cleanup.addons.add(pendName);
      await killHelmMidway(helm(), path.join(dir, "addons/charts/echo"), pendName, pendName, "pending-install");
      const pend: DesiredAddon = { ...echo, name: pendName, namespace: pendName };
      expect(await applyHelmAddon(context(helm()), cluster, pend, dir, ENV)).toEqual({ outcome: "recovered-and-upgraded", revision: 1 });
      expect(await revisions(pendName, pendName)).toEqual({ 1: "deployed" });
      await expectInSync([pend], dir);
      expect(await uninstallHelmAddon(context(helm()), pendName, pendName)).toEqual({ outcome: "uninstalled" });
    });

    it("uninstall removes the release and the inventory entry; again, it is absent", async () => {
      expect(await uninstallHelmAddon(context(helm()), name, ns)).toEqual({ outcome: "uninstalled" });
      expect(await revisions(name, ns)).toEqual({});
      expect(await inventoryEntry(name)).toBeUndefined();
      const objects = await clients.apps.listNamespacedDeployment({ namespace: ns });
      expect(objects.items).toEqual([]);
      expect(await uninstallHelmAddon(context(helm()), name, ns)).toEqual({ outcome: "absent" });
    });
  });
}

helmSuite("the sandbox's helm", () => tools().helm, RUN);
const helm3 = process.env.BOSUN_TEST_HELM3;
if (helm3) helmSuite("Helm 3 (BOSUN_TEST_HELM3)", () => helm3, `${RUN}h3`);

describe("Kustomize add-ons", () => {
  let dir = "";
  let cluster: DesiredCluster;
  let config: DesiredAddon;
  let widgets: DesiredAddon;
  const ns = `cfg-${RUN}`;
  const policy = `bosun-test-protect-${RUN}`;

  async function managers(path: string): Promise<string[]> {
    const object = await newRest().get<{ metadata: { managedFields?: { manager?: string; operation?: string }[] } }>(path);
    return (object?.metadata.managedFields ?? []).map((f) => `${f.manager ?? ""}/${f.operation ?? ""}`);
  }

  it("server-side applies as bosun, Namespace first, records the inventory and waits for the Deployment", async () => {
    ({ dir, cluster } = await fleetFor(RUN));
    config = addonOf(cluster, "config");
    widgets = addonOf(cluster, "widgets");
    for (const addon of [config, widgets]) cleanup.addons.add(addon.name);
    cleanup.namespaces.add(ns).add(`wid-${RUN}`);
    cleanup.crds.add(`widgets.w${RUN}.bosun.test`);

    let started = performance.now();
    const result = await applyKustomizeAddon(context(tools().helm), cluster, config, dir);
    const applyMs = performance.now() - started;
    expect(result).toEqual({
      outcome: "applied",
      objects: [
        // Namespaces (and CRDs) first; the rest in render order (kustomize's own kind order).
        { id: `Namespace/${ns}`, action: "created" },
        { id: `ConfigMap/${ns}/config-extra`, action: "created" },
        { id: `ConfigMap/${ns}/config-settings`, action: "created" },
        { id: `Secret/${ns}/config-credentials`, action: "created" },
        { id: `Deployment.apps/${ns}/config-agent`, action: "created" },
      ],
    });
    // Health: the Deployment was ready when apply returned.
    expect(await deploymentReplicas(ns, "config-agent")).toEqual({ spec: 2, ready: 2 });
    expect(await managers(`/apis/apps/v1/namespaces/${ns}/deployments/config-agent`)).toContain("bosun/Apply");
    expect(await managers(`/api/v1/namespaces/${ns}/configmaps/config-extra`)).toEqual(["bosun/Apply"]);
    expect(await inventoryEntry(config.name)).toMatchObject({
      kind: "kustomize",
      namespace: ns,
      objects: [
        { id: `ConfigMap/${ns}/config-extra`, apiVersion: "v1" },
        { id: `ConfigMap/${ns}/config-settings`, apiVersion: "v1" },
        { id: `Deployment.apps/${ns}/config-agent`, apiVersion: "apps/v1" },
        { id: `Namespace/${ns}`, apiVersion: "v1" },
        { id: `Secret/${ns}/config-credentials`, apiVersion: "v1" },
      ],
    });
    await expectInSync([config], dir);

    const inventoryVersion = (await clients.core.readNamespacedConfigMap({ name: "bosun-inventory", namespace: "bosun-system" })).metadata?.resourceVersion;
    started = performance.now();
    const again = await applyKustomizeAddon(context(tools().helm), cluster, config, dir);
    const againMs = performance.now() - started;
    expect(again.outcome).toBe("unchanged");
    expect(again.objects.every((o) => o.action === "unchanged")).toBe(true);
    // Nothing was written: not the objects (same resourceVersions), not the inventory.
    expect((await clients.core.readNamespacedConfigMap({ name: "bosun-inventory", namespace: "bosun-system" })).metadata?.resourceVersion).toBe(inventoryVersion);
    console.info(`kustomize: apply of 5 objects ${Math.round(applyMs)} ms, unchanged re-apply ${Math.round(againMs)} ms`);
  });

  it("an object that left the overlay is pruned — and stays in the inventory while its delete fails", async () => {
    const kustomization = path.join(dir, "addons/config/kustomization.yaml");
    await fs.writeFile(kustomization, (await fs.readFile(kustomization, "utf8")).replace("  - configmap-extra.yaml\n", ""));
    const uids = async (): Promise<Record<string, string | undefined>> => ({
      settings: (await clients.core.readNamespacedConfigMap({ name: "config-settings", namespace: ns })).metadata?.uid,
      secret: (await clients.core.readNamespacedSecret({ name: "config-credentials", namespace: ns })).metadata?.uid,
      deployment: (await clients.apps.readNamespacedDeployment({ name: "config-agent", namespace: ns })).metadata?.uid,
    });
    const before = await uids();

    // An admission policy that refuses to delete config-extra: the prune fails, and the object stays recorded.
    cleanup.policies.add(policy);
    await clients.objects.create({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: policy },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["DELETE"], resources: ["configmaps"] }] },
        validations: [{ expression: "oldObject.metadata.name != 'config-extra'", message: "config-extra is protected by the test", reason: "Invalid" }],
      },
    } as never);
    await clients.objects.create({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: { name: policy },
      spec: { policyName: policy, validationActions: ["Deny"], matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } } },
    } as never);
    const dryRunDelete = async (): Promise<number> =>
      (await newRest().send({ method: "DELETE", path: `/api/v1/namespaces/${ns}/configmaps/config-extra`, query: { dryRun: "All" } })).status;
    await eventually("the delete-protection policy is in force", async () => ((await dryRunDelete()) === 422 ? true : undefined), 30_000);

    // The apply step applies and prunes nothing; the prune step deletes and applies nothing.
    const applied = await applyKustomizeAddon(context(tools().helm), cluster, config, dir);
    expect(applied.objects.every((o) => o.action === "unchanged")).toBe(true);
    expect((await inventoryEntry(config.name))?.objects.map((o) => o.id)).toContain(`ConfigMap/${ns}/config-extra`);
    const error = await pruneKustomizeAddon(context(tools().helm), cluster, config, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AddonApplyError);
    expect(error).toMatchObject({ reason: "ApplyFailed", phase: "prune", identity: `alpha:ConfigMap/${ns}/config-extra` });
    expect((error as Error).message).toContain("config-extra is protected by the test");
    expect((await inventoryEntry(config.name))?.objects.map((o) => o.id)).toContain(`ConfigMap/${ns}/config-extra`);
    expect((await clients.core.readNamespacedConfigMap({ name: "config-extra", namespace: ns })).metadata?.name).toBe("config-extra");

    // Policy gone: the re-run prunes it, and nothing else.
    await clients.objects.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicyBinding", metadata: { name: policy } });
    await clients.objects.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", metadata: { name: policy } });
    await eventually("the delete-protection policy is gone", async () => ((await dryRunDelete()) === 200 ? true : undefined), 30_000);
    const result = await pruneKustomizeAddon(context(tools().helm), cluster, config, dir);
    expect(result).toEqual({ outcome: "pruned", pruned: [`ConfigMap/${ns}/config-extra`], released: [] });
    await expect(clients.core.readNamespacedConfigMap({ name: "config-extra", namespace: ns })).rejects.toMatchObject({ code: 404 });
    expect(await uids()).toEqual(before);
    expect((await inventoryEntry(config.name))?.objects.map((o) => o.id)).toEqual([
      `ConfigMap/${ns}/config-settings`,
      `Deployment.apps/${ns}/config-agent`,
      `Namespace/${ns}`,
      `Secret/${ns}/config-credentials`,
    ]);
    await expectInSync([config], dir);
  });

  it("a rollout that does not become ready in time is a HealthTimeout naming the Deployment and why", async () => {
    const file = path.join(dir, "addons/config/deployment.yaml");
    const original = await fs.readFile(file, "utf8");
    await fs.writeFile(file, original.replace("    spec:\n      containers:", "    spec:\n      nodeSelector: { bosun.dev/no-such-node: \"true\" }\n      containers:"));
    const started = performance.now();
    const error = await applyKustomizeAddon(context(tools().helm), cluster, { ...config, timeoutSeconds: 5 }, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    console.info(`kustomize: health timeout after ${Math.round(performance.now() - started)} ms`);
    expect(error).toBeInstanceOf(HealthTimeoutError);
    // The new ReplicaSet's pod stays Pending: one replica updated, two old ones still serving.
    expect(error).toMatchObject({ reason: "HealthTimeout", phase: "health", retryable: true, notReady: [{ identity: `alpha:Deployment.apps/${ns}/config-agent`, reason: "1/2 replicas updated" }] });
    expect((error as Error).message).toBe(`add-on ${config.name}: not ready after 5s: alpha:Deployment.apps/${ns}/config-agent: 1/2 replicas updated`);

    await fs.writeFile(file, original);
    const result = await applyKustomizeAddon(context(tools().helm), cluster, config, dir);
    expect(result.objects.filter((o) => o.action !== "unchanged")).toEqual([{ id: `Deployment.apps/${ns}/config-agent`, action: "configured" }]);
    expect(await deploymentReplicas(ns, "config-agent")).toEqual({ spec: 2, ready: 2 });
    await expectInSync([config], dir);
  });

  it("a CRD and a custom resource of it apply in one go (the CRD established first)", async () => {
    const started = performance.now();
    const result = await applyKustomizeAddon(context(tools().helm), cluster, widgets, dir);
    const ms = performance.now() - started;
    expect(result.objects).toEqual([
      { id: `CustomResourceDefinition.apiextensions.k8s.io/widgets.w${RUN}.bosun.test`, action: "created" },
      { id: `Namespace/wid-${RUN}`, action: "created" },
      { id: `Widget.w${RUN}.bosun.test/wid-${RUN}/sample`, action: "created" },
    ]);
    const widget = await newRest().get<{ spec?: { size?: number } }>(`/apis/w${RUN}.bosun.test/v1/namespaces/wid-${RUN}/widgets/sample`);
    expect(widget?.spec?.size).toBe(3);
    await expectInSync([widgets, config], dir);
    expect((await applyKustomizeAddon(context(tools().helm), cluster, widgets, dir)).outcome).toBe("unchanged");
    console.info(`kustomize: CRD + CR apply ${Math.round(ms)} ms`);
  });

  it("refuses to apply an add-on whose inventory records the other kind, changing nothing", async () => {
    // The spec turned the Kustomize add-on `config` into a Helm chart of the same name: the old objects
    // must be uninstalled first, or Helm would take them over half-way.
    const before = await inventoryEntry(config.name);
    expect(before?.kind).toBe("kustomize");
    const asHelm = { ...addonOf(cluster, "echo"), name: config.name };
    const error = await applyHelmAddon(context(tools().helm), cluster, asHelm, dir, ENV).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AddonApplyError);
    expect((error as Error).message).toBe(`add-on ${config.name}: the inventory records it as a kustomize add-on; uninstall that first`);
    expect(await inventoryEntry(config.name)).toEqual(before);
  });

  it("delete removes every object (custom resources, then Namespaces, then CRDs) and the inventory entry", async () => {
    const log: string[] = [];
    expect(await deleteKustomizeAddon(context(tools().helm, log), cluster, widgets.name)).toEqual({
      outcome: "deleted",
      deleted: [`Widget.w${RUN}.bosun.test/wid-${RUN}/sample`, `Namespace/wid-${RUN}`, `CustomResourceDefinition.apiextensions.k8s.io/widgets.w${RUN}.bosun.test`],
      released: [],
    });
    expect(await deleteKustomizeAddon(context(tools().helm), cluster, config.name)).toMatchObject({ outcome: "deleted" });
    for (const name of [widgets.name, config.name]) expect(await inventoryEntry(name)).toBeUndefined();
    await eventually("the CRD is gone", async () => ((await newRest().get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.w${RUN}.bosun.test`)) === null ? true : undefined), 60_000);
    await eventually("the namespaces are gone", async () => {
      const left = await Promise.all([ns, `wid-${RUN}`].map((name) => newRest().get(`/api/v1/namespaces/${name}`)));
      return left.every((n) => n === null) ? true : undefined;
    }, 120_000);
    expect(await deleteKustomizeAddon(context(tools().helm), cluster, config.name)).toEqual({ outcome: "absent", deleted: [], released: [] });
  });
});
