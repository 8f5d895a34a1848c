/**
 * The one list of binaries per command (src/sandbox/binaries/catalog.ts `BINARIES_FOR`, built on
 * src/tools/names.ts) is complete: `bosun plan` of a fleet with a Helm and a Kustomize add-on runs on a
 * machine whose only helm and kustomize are the ones that list puts in bosun's binary cache (empty PATH,
 * no BOSUN_HELM/BOSUN_KUSTOMIZE/BOSUN_BIN_DIR). The demo and `npm run setup` ensure that list, so a fresh
 * machine that ran either has every tool plan and apply resolve. The control case leaves one listed tool
 * out and must fail, naming it: the check can fail.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BINARIES_FOR, CATALOG, type BinaryName } from "../../src/sandbox/binaries/catalog.js";
import { PLAN_APPLY_TOOL_NAMES } from "../../src/tools/names.js";
import { bosun, sharedSandbox } from "../support/sandbox.js";

const CHART = path.resolve(import.meta.dirname, "../fixtures/charts/hello");
let base: string;
let fleet: string;

/** A cache directory holding exactly `names`, linked to the shared sandbox's binaries. */
async function cacheWith(names: readonly BinaryName[]): Promise<string> {
  const root = await fs.mkdtemp(path.join(base, "cache-"));
  await fs.mkdir(path.join(root, "bin"));
  for (const name of names) {
    const real = sharedSandbox().binaries[name];
    if (real === undefined) throw new Error(`the shared sandbox has no ${name}`);
    await fs.symlink(path.resolve(real), path.join(root, "bin", `${name}-v${CATALOG[name].version}`));
  }
  return root;
}

async function planWithCache(cache: string): Promise<{ exitCode: number; output: string }> {
  const emptyPath = path.join(base, "empty-path");
  await fs.mkdir(emptyPath, { recursive: true });
  const result = await bosun(["plan", "--fleet", fleet, "--no-color"], {
    env: { PATH: emptyPath, HOME: base, BOSUN_CACHE_DIR: cache, KUBECONFIG: sharedSandbox().kubeconfig },
  });
  return { exitCode: result.exitCode, output: `${result.stdout}\n${result.stderr}` };
}

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-tools-list-"));
  fleet = path.join(base, "fleet");
  await fs.mkdir(path.join(fleet, "clusters"), { recursive: true });
  await fs.cp(CHART, path.join(fleet, "charts/hello"), { recursive: true });
  await fs.mkdir(path.join(fleet, "config"), { recursive: true });
  await fs.writeFile(
    path.join(fleet, "config/kustomization.yaml"),
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [configmap.yaml]\n",
  );
  await fs.writeFile(
    path.join(fleet, "config/configmap.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: tools-list, namespace: default }\ndata: { a: b }\n",
  );
  await fs.writeFile(
    path.join(fleet, "fleet.yaml"),
    "apiVersion: bosun.dev/v1alpha1\nkind: Fleet\nmetadata: { name: tools }\nspec:\n  defaults:\n    provider: { kubeadm: { packageManager: apt } }\n",
  );
  await fs.writeFile(
    path.join(fleet, "clusters/gamma.yaml"),
    [
      "apiVersion: bosun.dev/v1alpha1",
      "kind: Cluster",
      "metadata: { name: gamma }",
      "spec:",
      "  connection: { context: gamma }",
      '  kubernetes: { version: "1.35.4" }',
      "  topology: { controlPlane: { replicas: 1 } }",
      "  addons:",
      "    - { name: tools-hello, namespace: tools-hello, helm: { chart: charts/hello } }",
      "    - { name: tools-config, kustomize: { path: config } }",
      "",
    ].join("\n"),
  );
});

afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe("the binaries plan and apply need", () => {
  it("are exactly the tools resolveTool may resolve, and the demo's list holds them and a full sandbox", () => {
    expect([...BINARIES_FOR.plan].sort()).toEqual([...PLAN_APPLY_TOOL_NAMES].sort());
    expect([...BINARIES_FOR.apply].sort()).toEqual([...PLAN_APPLY_TOOL_NAMES].sort());
    for (const name of [...BINARIES_FOR.apply, ...BINARIES_FOR["sandbox-full"]]) expect(BINARIES_FOR.demo).toContain(name);
    for (const name of BINARIES_FOR.demo) expect(BINARIES_FOR.test).toContain(name);
  });

  it("are enough: plan renders a Helm and a Kustomize add-on with only the listed tools in the cache", async () => {
    const { exitCode, output } = await planWithCache(await cacheWith(BINARIES_FOR.plan));
    expect(output).not.toMatch(/not found/);
    expect(exitCode, output).toBe(0);
    expect(output).toContain("tools-hello");
    expect(output).toContain("tools-config");
    expect(output).toMatch(/ConfigMap\/default\/tools-list|tools-list/);
  });

  it.each(PLAN_APPLY_TOOL_NAMES.map((left) => [left]))("are each needed: without %s in the cache, plan fails naming it and the fix", async (left) => {
    const { exitCode, output } = await planWithCache(await cacheWith(BINARIES_FOR.plan.filter((n) => n !== left)));
    expect(exitCode).toBe(1);
    expect(output).toContain(`${left} not found`);
    expect(output).toContain("bosun sandbox binaries --for plan");
  });
});
