/**
 * Health of a cluster during its wave's soak (issue 15): a soak is not a plain sleep. While it lasts, each
 * changed cluster of the wave is observed again, and one that turns unhealthy halts the rollout before the
 * next wave starts. Unhealthy means a Node that is not Ready, or a workload bosun installed (a Deployment,
 * StatefulSet or DaemonSet of a Helm release or of bosun's Kustomize inventory) that is no longer ready,
 * judged as `kubectl rollout status` judges it (`src/addons/health.ts`). Reads only.
 */
import { evaluateHealth, isWorkload } from "../addons/health.js";
import { readInventoryEntries } from "../addons/inventory.js";
import { listHelmReleases } from "../addons/releases.js";
import { parseNodes, type NodeLike } from "../kube/nodes.js";
import type { KubeRest } from "../kube/rest.js";

/** Workloads checked per cluster at most; a larger fleet of add-ons is sampled in a fixed order. */
const MAX_WORKLOADS = 200;

/** What is unhealthy in the cluster behind `rest`; empty when everything is. */
export async function soakProblems(rest: KubeRest): Promise<string[]> {
  const [nodes, releases, inventory] = await Promise.all([
    rest.list<NodeLike>("/api/v1/nodes"),
    listHelmReleases(rest),
    readInventoryEntries(rest),
  ]);
  const problems = parseNodes(nodes)
    .filter((node) => !node.ready)
    .map((node) => `node ${node.name} is not Ready`);
  const workloads = [
    ...releases.flatMap((release) => release.objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name, namespace: o.namespace ?? release.namespace } }))),
    ...inventory.flatMap((entry) =>
      entry.objects.map((o) => {
        const [kindPart = "", ...where] = o.id.split("/");
        const name = where.at(-1) ?? "";
        const namespace = where.length > 1 ? where[0] : undefined;
        return { apiVersion: o.apiVersion, kind: kindPart.split(".")[0] ?? "", metadata: { name, ...(namespace === undefined ? {} : { namespace }) } };
      }),
    ),
  ]
    .filter((object) => isWorkload(object))
    .slice(0, MAX_WORKLOADS);
  const states = await Promise.all(
    workloads.map(async (object) => {
      const live = await rest.getLive(object);
      const where = `${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`;
      if (live === null) return `${where} is gone`;
      const health = evaluateHealth(live);
      return health.state === "ready" ? undefined : `${where} is not ready: ${health.reason}`;
    }),
  );
  return [...problems, ...states.filter((p): p is string => p !== undefined)];
}
