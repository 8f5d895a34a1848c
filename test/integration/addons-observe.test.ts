/**
 * Add-on observation against a real API server, the real helm and the real kustomize: release records,
 * the inventory, renders and server-side dry-run diffs (src/addons/observe.ts), on the fixture fleet
 * test/fixtures/fleets/addons (a local chart `web`, a Kustomize overlay `config/overlays/sandbox`).
 * Every add-on gets names unique to this run, and everything is removed afterwards.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeInventoryEntry, writeInventoryEntry } from "../../src/addons/inventory.js";
import { observeAddons, type AddonsObserved } from "../../src/addons/observe.js";
import { listHelmReleases } from "../../src/addons/releases.js";
import { renderAddon, type RenderedHelmAddon } from "../../src/addons/render.js";
import { KubeRest } from "../../src/kube/rest.js";
import type { AddonObservation, HelmAddonObservation, KustomizeAddonObservation } from "../../src/plan/observed.js";
import type { DesiredAddon } from "../../src/spec/types.js";
import { helmUninstall, helmUpgradeInstall } from "../../src/tools/helm.js";
import { eventually, sandboxCluster, sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/addons");
const RUN = randomBytes(3).toString("hex");
const WEB = `web-${RUN}`;
const WEB_NS = `web-${RUN}`;
const CFG = `cfg-${RUN}`;
const CFG_NS = `cfg-${RUN}`;
const TOKEN_ENV = "BOSUN_SECRET_TEST_WEB_TOKEN";
const INITIAL_TOKEN = `initial-${randomBytes(8).toString("hex")}`;

const clients = sandboxCluster("alpha");
const target = (): { kubeconfig: string; context: string } => ({ kubeconfig: sharedSandbox().kubeconfig, context: "alpha" });
const tools = (): { helm: string; kustomize: string } => ({
  helm: sharedSandbox().binaries.helm ?? "helm",
  kustomize: sharedSandbox().binaries.kustomize ?? "kustomize",
});
const newRest = (): KubeRest => new KubeRest(clients.kc, { cluster: "alpha" });

const temps: string[] = [];
/** A private copy of the fixture fleet, for tests that edit it. */
async function fleetCopy(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-addons-fleet-"));
  temps.push(dir);
  await fs.cp(FIXTURE, dir, { recursive: true });
  return dir;
}

function webAddon(overrides: { name?: string; namespace?: string; values?: Record<string, unknown> } = {}): DesiredAddon {
  return {
    name: overrides.name ?? WEB,
    namespace: overrides.namespace ?? WEB_NS,
    dependsOn: [],
    timeoutSeconds: 300,
    source: {
      kind: "helm",
      chart: { kind: "local", path: "addons/charts/web", name: "web", version: "0.3.1" },
      values: overrides.values ?? { message: "hello from the fleet" },
      valuesFiles: ["addons/web/values.yaml"],
      secretValues: [{ path: ["auth", "token"], env: TOKEN_ENV }],
    },
  };
}

function cfgAddon(name = CFG): DesiredAddon {
  return {
    name,
    namespace: CFG_NS,
    dependsOn: [],
    timeoutSeconds: 300,
    source: { kind: "kustomize", path: "addons/config/overlays/sandbox" },
  };
}

async function observe(addons: DesiredAddon[], fleetDir = FIXTURE, env: Record<string, string | undefined> = { [TOKEN_ENV]: INITIAL_TOKEN }): Promise<AddonsObserved> {
  return observeAddons(newRest(), { name: "alpha", addons }, fleetDir, env, tools());
}

function helmOf(result: AddonsObserved, name = WEB): HelmAddonObservation {
  const found = result.observed.desired.find((a: AddonObservation) => a.name === name);
  if (found?.kind !== "helm") throw new Error(`no Helm observation ${name}`);
  return found;
}

function kustomizeOf(result: AddonsObserved, name = CFG): KustomizeAddonObservation {
  const found = result.observed.desired.find((a: AddonObservation) => a.name === name);
  if (found?.kind !== "kustomize") throw new Error(`no Kustomize observation ${name}`);
  return found;
}

/** The `{id: action}` map of an add-on's objects (fails the test when the render failed). */
function actions(addon: AddonObservation): Record<string, string> {
  if (!addon.render.ok) throw new Error(`render failed: ${addon.render.error}`);
  return Object.fromEntries(addon.render.objects.map((o) => [o.id, o.action]));
}

/** Installs the web chart with the values bosun would render (secret value from `token`). */
async function installWeb(values: Record<string, unknown>, token: string, fleetDir = FIXTURE): Promise<void> {
  const rendered = (await renderAddon(newRest(), webAddon({ values }), fleetDir, { [TOKEN_ENV]: token }, tools())) as RenderedHelmAddon;
  await helmUpgradeInstall(
    target(),
    { release: WEB, namespace: WEB_NS, chart: path.join(fleetDir, "addons/charts/web"), values: rendered.values, createNamespace: true, wait: true, helmTimeout: "3m" },
    { helm: tools().helm },
  );
}

/** Server-side applies the Kustomize add-on as bosun would (field manager bosun) and records it in the inventory. */
async function applyCfg(fleetDir = FIXTURE): Promise<void> {
  const rendered = await renderAddon(newRest(), cfgAddon(), fleetDir, {}, tools());
  for (const object of rendered.objects) {
    await clients.objects.patch(object, undefined, undefined, "bosun", true, PatchStrategy.ServerSideApply);
  }
  await writeInventoryEntry(newRest(), { name: CFG, kind: "kustomize", namespace: CFG_NS, objects: rendered.objects });
}

async function rolledOut(namespace: string, name: string): Promise<void> {
  await eventually(`${namespace}/${name} rolled out`, async () => {
    const d = await clients.apps.readNamespacedDeployment({ name, namespace });
    const done =
      d.status?.observedGeneration === d.metadata?.generation &&
      d.status?.updatedReplicas === d.spec?.replicas &&
      d.status?.readyReplicas === d.spec?.replicas &&
      (d.status?.replicas ?? 0) === d.spec?.replicas;
    return done ? true : undefined;
  }, 120_000);
}

beforeAll(async () => {
  await clients.core.createNamespace({ body: { metadata: { name: CFG_NS } } });
});

afterAll(async () => {
  await helmUninstall(target(), WEB, WEB_NS, { helm: tools().helm }).catch(() => undefined);
  for (const name of [CFG, WEB]) await removeInventoryEntry(newRest(), name).catch(() => undefined);
  for (const name of [WEB_NS, CFG_NS]) await clients.core.deleteNamespace({ name }).catch(() => undefined);
  for (const dir of temps) await fs.rm(dir, { recursive: true, force: true });
});

describe("observing add-ons", () => {
  it("(a) with nothing installed: no release, every object to create", async () => {
    const result = await observe([webAddon(), cfgAddon()]);
    const web = helmOf(result);
    expect(web.release).toBeNull();
    expect(actions(web)).toEqual({
      [`Secret/${WEB_NS}/${WEB}-auth`]: "create",
      [`Service/${WEB_NS}/${WEB}`]: "create",
      [`Deployment/${WEB_NS}/${WEB}`]: "create",
    });
    expect(web.render).toMatchObject({ ok: true, chart: "web", chartVersion: "0.3.1", prune: [] });
    const valuesDiff = web.render.valuesDiff ?? "";
    expect(valuesDiff).toContain("--- /dev/null");
    expect(valuesDiff).toContain("+message: hello from the fleet");
    expect(valuesDiff).toContain("+  token: (masked)\n");
    expect(valuesDiff.split("\n").filter((line) => line.startsWith("-") && !line.startsWith("---"))).toEqual([]);
    const cfg = kustomizeOf(result);
    expect(cfg.applied).toBe(false);
    expect(actions(cfg)).toEqual({
      [`ConfigMap/${CFG_NS}/config-agent-extra`]: "create",
      [`ConfigMap/${CFG_NS}/config-agent-settings`]: "create",
      [`Secret/${CFG_NS}/config-agent-credentials`]: "create",
      [`Deployment/${CFG_NS}/config-agent`]: "create",
    });
    expect(cfg.render.ok && cfg.render.prune).toEqual([]);
    const deployment = cfg.render.ok ? cfg.render.objects.find((o) => o.id.startsWith("Deployment/")) : undefined;
    expect(deployment?.diff).toContain("+    bosun.dev/addon: " + CFG);
    expect(result.observed.installed.find((i) => i.name === CFG)).toBeUndefined();
  });

  it("(b) right after helm upgrade --install and a server-side apply: release deployed, nothing changed", async () => {
    await installWeb({ message: "hello from the fleet" }, INITIAL_TOKEN);
    await applyCfg();
    await writeInventoryEntry(newRest(), { name: WEB, kind: "helm", namespace: WEB_NS, objects: [], secretPaths: [["auth", "token"]] });
    await rolledOut(WEB_NS, WEB);
    await rolledOut(CFG_NS, "config-agent");

    // Helm 4 server-side applies as field manager "helm": that is the manager bosun dry-runs Helm objects as.
    const live = await clients.apps.readNamespacedDeployment({ name: WEB, namespace: WEB_NS });
    expect(live.metadata?.managedFields?.map((f) => `${f.manager ?? ""}/${f.operation ?? ""}`)).toContain("helm/Apply");

    // The release record decodes to what helm was given.
    const record = (await listHelmReleases(newRest())).find((r) => r.name === WEB && r.namespace === WEB_NS);
    expect(record).toMatchObject({ revision: 1, status: "deployed", chart: "web", chartVersion: "0.3.1" });
    expect(record?.config).toEqual({ replicaCount: 2, port: 8081, message: "hello from the fleet", auth: { token: INITIAL_TOKEN } });

    const started = performance.now();
    const result = await observe([webAddon(), cfgAddon()]);
    const ms = performance.now() - started;
    console.info(`observation of 2 add-ons (7 objects): ${Math.round(ms)} ms, requests observe=${result.observeRequests} diff=${result.diffRequests}`);
    const web = helmOf(result);
    expect(web.release).toEqual({ revision: 1, status: "deployed", chart: "web", chartVersion: "0.3.1" });
    expect(web.render).toMatchObject({ ok: true, valuesDiff: null });
    expect(Object.values(actions(web))).toEqual(["unchanged", "unchanged", "unchanged"]);
    const cfg = kustomizeOf(result);
    expect(cfg.applied).toBe(true);
    expect(Object.values(actions(cfg))).toEqual(["unchanged", "unchanged", "unchanged", "unchanged"]);
    expect(cfg.render.ok && cfg.render.prune).toEqual([]);
    expect(cfg.render.ok && cfg.render.objects.every((o) => o.diff === "")).toBe(true);
    expect(result.observed.installed.filter((i) => i.name === WEB || i.name === CFG)).toEqual([
      { name: CFG, kind: "kustomize", namespace: CFG_NS, objects: [
        `ConfigMap/${CFG_NS}/config-agent-extra`,
        `ConfigMap/${CFG_NS}/config-agent-settings`,
        `Deployment.apps/${CFG_NS}/config-agent`,
        `Secret/${CFG_NS}/config-agent-credentials`,
      ] },
      { name: WEB, kind: "helm", namespace: WEB_NS, objects: [] },
    ]);
  });

  it("(c) a hand edit of a Deployment shows as exactly that update", async () => {
    await clients.apps.patchNamespacedDeployment(
      {
        name: "config-agent",
        namespace: CFG_NS,
        fieldManager: "kubectl-edit",
        body: { spec: { replicas: 3, template: { spec: { containers: [{ name: "agent", env: [{ name: "LEVEL", value: "debug" }] }] } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    try {
      const result = await observe([webAddon(), cfgAddon()]);
      expect(Object.values(actions(helmOf(result)))).toEqual(["unchanged", "unchanged", "unchanged"]);
      const cfg = kustomizeOf(result);
      expect(actions(cfg)).toEqual({
        [`ConfigMap/${CFG_NS}/config-agent-extra`]: "unchanged",
        [`ConfigMap/${CFG_NS}/config-agent-settings`]: "unchanged",
        [`Secret/${CFG_NS}/config-agent-credentials`]: "unchanged",
        [`Deployment/${CFG_NS}/config-agent`]: "update",
      });
      const diff = cfg.render.ok ? (cfg.render.objects.find((o) => o.action === "update")?.diff ?? "") : "";
      const changed = diff.split("\n").filter((line) => /^[-+][^-+]/.test(line));
      expect(changed.sort()).toEqual(["-  replicas: 3", "-              value: debug", "+  replicas: 2", "+              value: info"].sort());
    } finally {
      await applyCfg();
    }
  });

  it("(d) a hand-made helm upgrade with another value shows in the values diff", async () => {
    await installWeb({ message: "changed by hand" }, INITIAL_TOKEN);
    const result = await observe([webAddon()]);
    const web = helmOf(result);
    expect(web.release).toMatchObject({ revision: 2, status: "deployed" });
    expect(web.render.ok).toBe(true);
    const changed = (web.render.valuesDiff ?? "").split("\n").filter((line) => /^[-+][^-+]/.test(line));
    expect(changed).toEqual(["-message: changed by hand", "+message: hello from the fleet"]);
    expect(actions(web)[`Deployment/${WEB_NS}/${WEB}`]).toBe("update");
    expect(actions(web)[`Service/${WEB_NS}/${WEB}`]).toBe("unchanged");
  });

  it("(e) an object removed from the overlay is listed for pruning", async () => {
    const dir = await fleetCopy();
    const kustomization = path.join(dir, "addons/config/overlays/sandbox/kustomization.yaml");
    const text = await fs.readFile(kustomization, "utf8");
    await fs.writeFile(kustomization, text.replace("  - extra-configmap.yaml\n", ""));
    const result = await observe([cfgAddon()], dir);
    const cfg = kustomizeOf(result);
    expect(cfg.render).toMatchObject({ ok: true, prune: [`ConfigMap/${CFG_NS}/config-agent-extra`] });
    expect(Object.keys(actions(cfg))).not.toContain(`ConfigMap/${CFG_NS}/config-agent-extra`);
  });

  it("(f) canary: secret values never appear in an observation or an error", async () => {
    const live = `canary-live-${randomBytes(12).toString("hex")}`;
    const desired = `canary-desired-${randomBytes(12).toString("hex")}`;
    const needles = [live, desired, Buffer.from(live).toString("base64"), Buffer.from(desired).toString("base64")];
    const dir = await fleetCopy();
    const secretFile = path.join(dir, "addons/config/base/secret.yaml");
    const original = await fs.readFile(secretFile, "utf8");
    // The live side holds one token…
    await fs.writeFile(secretFile, original.replace("placeholder-not-a-secret", live));
    await applyCfg(dir);
    await installWeb({ message: "hello from the fleet" }, live, dir);
    // …and the desired side another one.
    await fs.writeFile(secretFile, original.replace("placeholder-not-a-secret", desired));

    const outputs: string[] = [];
    const capture = async (what: () => Promise<AddonsObserved>): Promise<AddonsObserved | undefined> => {
      try {
        const result = await what();
        outputs.push(JSON.stringify(result));
        return result;
      } catch (error) {
        outputs.push(String(error), (error as Error).stack ?? "", JSON.stringify(error));
        return undefined;
      }
    };

    const changed = await capture(() => observe([webAddon(), cfgAddon()], dir, { [TOKEN_ENV]: desired }));
    expect(changed).toBeDefined();
    if (!changed) return;
    const web = helmOf(changed);
    expect(actions(web)[`Secret/${WEB_NS}/${WEB}-auth`]).toBe("update");
    const webSecretDiff = web.render.ok ? web.render.objects.find((o) => o.id.startsWith("Secret/"))?.diff : "";
    expect(webSecretDiff).toContain('-  token: "(masked: before)"');
    expect(webSecretDiff).toContain('+  token: "(masked: after)"');
    expect(web.render.ok && web.render.valuesDiff).toContain('+  token: "(masked: after)"');
    const cfg = kustomizeOf(changed);
    expect(actions(cfg)[`Secret/${CFG_NS}/config-agent-credentials`]).toBe("update");

    // Render failures: a missing variable, a chart that quotes the secret in its error, an invalid Secret.
    const missing = await capture(() => observe([webAddon()], dir, {}));
    const missingRender = missing ? helmOf(missing).render : undefined;
    expect(missingRender?.ok).toBe(false);
    expect(missingRender && !missingRender.ok && missingRender.error).toContain(TOKEN_ENV);
    expect(missingRender && !missingRender.ok && missingRender.error).toContain(WEB);

    const quoting = await capture(() => observe([webAddon({ values: { auth: { requireLong: true } } })], dir, { [TOKEN_ENV]: desired }));
    const quotingRender = quoting ? helmOf(quoting).render : undefined;
    // helm's own message quotes the value (%q): for an add-on with secret values it is withheld, and
    // only where the template failed is shown.
    expect(quotingRender && !quotingRender.ok && quotingRender.error).toMatch(/^helm failed \(exit code 1\) at web\/templates\/validate\.yaml:\d+:\d+; its message is not shown because web-\w+ has secret values/);

    await fs.writeFile(secretFile, original.replace("placeholder-not-a-secret", desired).replace("  password:", "  \"not a valid key!\":"));
    const invalid = await capture(() => observe([cfgAddon()], dir, {}));
    const invalidRender = invalid ? kustomizeOf(invalid).render : undefined;
    expect(invalidRender && !invalidRender.ok && invalidRender.error).toContain(`Secret/config-agent-credentials`);

    for (const output of outputs) {
      for (const needle of needles) expect(output).not.toContain(needle);
    }
    // Leave the cluster as the fixture describes it.
    await applyCfg();
    await installWeb({ message: "hello from the fleet" }, INITIAL_TOKEN);
  });

  it("(g) observation requests do not grow with the number of add-ons", async () => {
    const one = await observe([webAddon()]);
    const three = await observe([webAddon(), cfgAddon(), webAddon({ name: `other-${RUN}`, namespace: WEB_NS })]);
    expect(helmOf(three, `other-${RUN}`).release).toBeNull();
    expect(one.observeRequests).toBe(three.observeRequests);
    // Release LIST, inventory GET, /version and /apis for the render's capabilities.
    expect(one.observeRequests).toBe(4);
    expect(three.diffRequests).toBeGreaterThan(one.diffRequests);
    // With the capabilities given, two requests remain.
    const given = await observeAddons(newRest(), { name: "alpha", addons: [webAddon()] }, FIXTURE, { [TOKEN_ENV]: INITIAL_TOKEN }, {
      ...tools(),
      kubeVersion: "1.34.4",
      apiVersions: ["v1", "apps/v1"],
    });
    expect(given.observeRequests).toBe(2);
    console.info(`requests: 1 add-on observe=${one.observeRequests} diff=${one.diffRequests}; 3 add-ons observe=${three.observeRequests} diff=${three.diffRequests}`);
  });
});
