/**
 * bosun's own objects in a target cluster: the namespace `bosun-system` (ARCHITECTURE invariant 5) and the
 * ConfigMaps that hold its state there (the add-on inventory, the apply journal). Written through
 * `KubeRest`, like every other request.
 */
import { BOSUN_NAMESPACE, MANAGED_BY_BOSUN as MANAGED_BY } from "../constants.js";
import { createIfAbsent } from "./errors.js";
import type { KubeRest } from "./rest.js";

/** URL path of a ConfigMap in `bosun-system`. */
export function stateConfigMapPath(name: string): string {
  return `/api/v1/namespaces/${BOSUN_NAMESPACE}/configmaps/${encodeURIComponent(name)}`;
}

/** Creates `bosun-system` unless it exists. */
export async function ensureBosunNamespace(rest: KubeRest): Promise<void> {
  await createIfAbsent(() =>
    rest.create("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: BOSUN_NAMESPACE, labels: MANAGED_BY } }, `create namespace ${BOSUN_NAMESPACE}`),
  );
}

/**
 * Creates `bosun-system` and an empty state ConfigMap `name` in it unless they exist; `annotations` record
 * the format of what the ConfigMap holds.
 */
export async function ensureStateConfigMap(rest: KubeRest, name: string, annotations: Record<string, string>): Promise<void> {
  await ensureBosunNamespace(rest);
  await createIfAbsent(() =>
    rest.create(
      `/api/v1/namespaces/${BOSUN_NAMESPACE}/configmaps`,
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: BOSUN_NAMESPACE, labels: MANAGED_BY, annotations }, data: {} },
      `create ConfigMap ${BOSUN_NAMESPACE}/${name}`,
    ),
  );
}
