/**
 * "Idle costs nothing": planning an unchanged fleet again in the same process starts no helm and no
 * kustomize. The evidence is not bosun's own counters but the programs' own starts: BOSUN_HELM and
 * BOSUN_KUSTOMIZE point at wrapper scripts that append a line to a log file and then exec the real
 * binaries of the sandbox. On a copy of the plan fixture (cluster gamma: a Helm chart with a values file
 * and a secret value, and a Kustomize overlay over a base), against the shared sandbox:
 * - the first plan starts each program once, the second starts none;
 * - changing the values file re-renders exactly the Helm add-on, changing a file of the overlay's base
 *   exactly the Kustomize add-on, changing the secret value exactly the Helm add-on;
 * - every plan equals the plan computed with a cache of its own (what `bosun plan` computes).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processRenderCache, RenderCache, renderStats } from "../../src/addons/render-cache.js";
import { planFleet } from "../../src/observe/plan-fleet.js";
import type { Plan } from "../../src/plan/types.js";
import { sharedSandbox } from "../support/sandbox.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/plan");
const TOKEN_ENV = "BOSUN_SECRET_RENDER_CACHE_TOKEN";
const NOW = new Date("2026-11-23T12:00:00Z");

let work: string;
let fleetDir: string;
let log: string;
let env: NodeJS.ProcessEnv;

/** A fleet of gamma only, in namespaces of its own and without backups (nothing another test changes). */
async function writeFleet(dir: string): Promise<void> {
  await fs.cp(path.join(FIXTURE, "charts"), path.join(dir, "charts"), { recursive: true });
  await fs.cp(path.join(FIXTURE, "web"), path.join(dir, "web"), { recursive: true });
  for (const file of ["web/base/kustomization.yaml", "web/base/namespace.yaml", "web/base/secret.yaml"]) {
    const full = path.join(dir, file);
    await fs.writeFile(full, (await fs.readFile(full, "utf8")).replaceAll("plan-web", "rc-web").replace("__SECRET__", "not-a-real-secret"));
  }
  await fs.mkdir(path.join(dir, "clusters"));
  await fs.mkdir(path.join(dir, "values"));
  await fs.writeFile(path.join(dir, "values/greeter.yaml"), "replicaCount: 2\n");
  await fs.writeFile(
    path.join(dir, "fleet.yaml"),
    ["apiVersion: bosun.dev/v1alpha1", "kind: Fleet", "metadata: { name: render-cache-test }", "spec:", "  defaults:", "    provider:", "      kubeadm: { packageManager: apt }", ""].join("\n"),
  );
  await fs.writeFile(
    path.join(dir, "clusters/gamma.yaml"),
    [
      "apiVersion: bosun.dev/v1alpha1",
      "kind: Cluster",
      "metadata: { name: gamma }",
      "spec:",
      "  connection: { context: gamma }",
      '  kubernetes: { version: "1.35.4" }',
      "  topology:",
      "    controlPlane: { replicas: 1 }",
      "  addons:",
      "    - name: greeter",
      "      namespace: rc-greeter",
      "      helm:",
      "        chart: charts/greeter",
      "        valuesFiles: [values/greeter.yaml]",
      "        values: { message: hello from the render cache test }",
      "        secretValues:",
      `          - { path: auth.token, env: ${TOKEN_ENV} }`,
      "    - name: web",
      "      kustomize: { path: web/overlays/test }",
      "",
    ].join("\n"),
  );
}

/** A `#!/bin/sh` wrapper that logs its start (tool and subcommand) and execs `real`. */
async function wrapper(name: string, real: string): Promise<string> {
  const file = path.join(work, "bin", name);
  await fs.writeFile(file, `#!/bin/sh\necho "${name} $1" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  return file;
}

/** Lines of the wrapper log (one per helm or kustomize process started). */
async function starts(): Promise<string[]> {
  const text = await fs.readFile(log, "utf8").catch(() => "");
  return text.split("\n").filter((l) => l !== "");
}

/** The starts one call made, by program. */
async function startsDuring(call: () => Promise<unknown>): Promise<{ helm: number; kustomize: number; lines: string[] }> {
  const before = (await starts()).length;
  await call();
  const lines = (await starts()).slice(before);
  return { helm: lines.filter((l) => l.startsWith("helm ")).length, kustomize: lines.filter((l) => l.startsWith("kustomize ")).length, lines };
}

async function plan(renderCache: RenderCache): Promise<Plan> {
  const result = await planFleet({ source: { fleet: fleetDir }, clusters: ["gamma"], env, clusterTimeoutMs: 60_000, now: NOW, renderCache });
  if (!result.ok) throw new Error(`fleet invalid: ${JSON.stringify(result.errors)}`);
  const observed = result.observed[0];
  if (observed?.status !== "observed") throw new Error(`gamma not observed: ${JSON.stringify(observed)}`);
  return result.plan;
}

/** The plan `bosun plan` would compute now: a cache of its own (and it must start both programs). */
async function uncachedPlan(): Promise<Plan> {
  let computed: Plan | undefined;
  const started = await startsDuring(async () => (computed = await plan(new RenderCache())));
  expect(started).toMatchObject({ helm: 1, kustomize: 1 });
  if (!computed) throw new Error("no plan");
  return computed;
}

/** The steps of one add-on in a plan. */
function addonSteps(p: Plan, addon: string): unknown[] {
  return (p.clusters[0]?.steps ?? []).filter((s) => "addon" in s && s.addon === addon);
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-render-cache-"));
  fleetDir = path.join(work, "fleet");
  log = path.join(work, "starts.log");
  await fs.mkdir(path.join(work, "bin"));
  await fs.mkdir(fleetDir);
  await writeFleet(fleetDir);
  const binaries = sharedSandbox().binaries;
  env = {
    ...process.env,
    KUBECONFIG: sharedSandbox().kubeconfig,
    [TOKEN_ENV]: `token-${randomBytes(8).toString("hex")}`,
    BOSUN_HELM: await wrapper("helm", binaries.helm ?? "helm"),
    BOSUN_KUSTOMIZE: await wrapper("kustomize", binaries.kustomize ?? "kustomize"),
  };
});

afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe("the process render cache", () => {
  const cache = processRenderCache();

  it("starts helm and kustomize on the first plan, and neither on the second", async () => {
    const statsBefore = renderStats();
    let first: Plan | undefined;
    let second: Plan | undefined;
    const t0 = performance.now();
    const firstStarts = await startsDuring(async () => (first = await plan(cache)));
    const t1 = performance.now();
    const secondStarts = await startsDuring(async () => (second = await plan(cache)));
    const t2 = performance.now();
    console.log(`render cache: first plan ${(t1 - t0).toFixed(0)} ms, second plan ${(t2 - t1).toFixed(0)} ms`);

    // Both run at once (two render slots): in either order.
    expect([...firstStarts.lines].sort()).toEqual(["helm template", "kustomize build"]);
    expect(secondStarts).toEqual({ helm: 0, kustomize: 0, lines: [] });
    expect(second).toEqual(first);
    // Both add-ons are planned (not failed renders, which would also start nothing the second time).
    expect(addonSteps(second as Plan, "greeter")).toMatchObject([{ kind: "addon.install" }]);
    expect(addonSteps(second as Plan, "web")).toMatchObject([{ kind: "addon.install" }]);
    // bosun's own counters agree with the log.
    const stats = renderStats();
    expect(stats.spawns.helm - statsBefore.spawns.helm).toBe(1);
    expect(stats.spawns.kustomize - statsBefore.spawns.kustomize).toBe(1);
    expect(stats.hits - statsBefore.hits).toBe(2);
    expect(stats.entries).toBe(2);

    expect(second).toEqual(await uncachedPlan());
  });

  it("re-renders exactly the Helm add-on when its values file changes", async () => {
    const before = await plan(cache);
    await fs.writeFile(path.join(fleetDir, "values/greeter.yaml"), "replicaCount: 3\n");
    let after: Plan | undefined;
    expect(await startsDuring(async () => (after = await plan(cache)))).toEqual({ helm: 1, kustomize: 0, lines: ["helm template"] });
    expect(addonSteps(after as Plan, "greeter")).not.toEqual(addonSteps(before, "greeter"));
    expect(JSON.stringify(addonSteps(after as Plan, "greeter"))).toMatch(/replicas: 3/);
    expect(addonSteps(after as Plan, "web")).toEqual(addonSteps(before, "web"));
    expect(await startsDuring(() => plan(cache))).toMatchObject({ helm: 0, kustomize: 0 });
    expect(after).toEqual(await uncachedPlan());
  });

  it("re-renders exactly the Kustomize add-on when a file of its base changes", async () => {
    const before = await plan(cache);
    const file = path.join(fleetDir, "web/base/configmap.yaml");
    await fs.writeFile(file, `${await fs.readFile(file, "utf8")}  added: by-the-render-cache-test\n`);
    let after: Plan | undefined;
    expect(await startsDuring(async () => (after = await plan(cache)))).toEqual({ helm: 0, kustomize: 1, lines: ["kustomize build"] });
    expect(JSON.stringify(addonSteps(after as Plan, "web"))).toMatch(/by-the-render-cache-test/);
    expect(addonSteps(after as Plan, "greeter")).toEqual(addonSteps(before, "greeter"));
    expect(after).toEqual(await uncachedPlan());
  });

  it("re-renders the Helm add-on when its secret value changes, and keeps no secret in clear", async () => {
    env[TOKEN_ENV] = `token-${randomBytes(8).toString("hex")}`;
    let after: Plan | undefined;
    expect(await startsDuring(async () => (after = await plan(cache)))).toEqual({ helm: 1, kustomize: 0, lines: ["helm template"] });
    expect(after).toEqual(await uncachedPlan());
    expect(JSON.stringify(after)).not.toContain(env[TOKEN_ENV]);
  });
});
