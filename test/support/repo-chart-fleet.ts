/**
 * A small fleet whose clusters each install one chart from a repository or registry (the chart
 * repository and OCI tests), and the clean-up of what applying it leaves in a sandbox cluster.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { removeInventoryEntry } from "../../src/addons/inventory.js";
import { KubeRest } from "../../src/kube/rest.js";
import { helmUninstall } from "../../src/tools/helm.js";
import { deleteNamespaces, sandboxCluster, sharedSandbox } from "./sandbox.js";

/** A kubeadm cluster of the shared sandbox (context = name) at 1.35.4 installing `chart` 0.1.0 from `repo` as add-on `release`. */
export function repoChartCluster(name: string, release: string, repo: string, chart = "hello"): string {
  return [
    "apiVersion: bosun.dev/v1alpha1",
    "kind: Cluster",
    `metadata: { name: ${name} }`,
    "spec:",
    `  connection: { context: ${name} }`,
    '  kubernetes: { version: "1.35.4" }',
    "  topology: { controlPlane: { replicas: 1 } }",
    "  addons:",
    `    - { name: ${release}, helm: { repo: "${repo}", chart: ${chart}, version: 0.1.0 } }`,
    "",
  ].join("\n");
}

/** Writes `dir/fleet.yaml` (fleet `name`, kubeadm defaults) and one cluster file per name, from `clusterFile`. */
export async function writeRepoChartFleet(dir: string, name: string, clusters: readonly string[], clusterFile: (cluster: string) => string): Promise<void> {
  await fs.mkdir(path.join(dir, "clusters"), { recursive: true });
  await fs.writeFile(
    path.join(dir, "fleet.yaml"),
    `apiVersion: bosun.dev/v1alpha1\nkind: Fleet\nmetadata: { name: ${name} }\nspec:\n  defaults:\n    provider: { kubeadm: { packageManager: apt } }\n`,
  );
  for (const cluster of clusters) await fs.writeFile(path.join(dir, "clusters", `${cluster}.yaml`), clusterFile(cluster));
}

/**
 * Removes everything applying add-on `release` left in sandbox cluster `cluster`: the release, bosun's
 * inventory entry for it (which would make the next file's plan uninstall it) and its namespace.
 */
export async function removeRepoChartAddon(cluster: string, release: string): Promise<void> {
  const target = { kubeconfig: sharedSandbox().kubeconfig, context: cluster };
  await helmUninstall(target, release, release, { helm: sharedSandbox().binaries.helm ?? "helm" }, { ignoreNotFound: true }).catch(() => undefined);
  const clients = sandboxCluster(cluster);
  await removeInventoryEntry(new KubeRest(clients.kc, { cluster }), release).catch(() => undefined);
  await deleteNamespaces(clients.core, [release]).catch(() => undefined);
}
