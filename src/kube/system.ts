/**
 * bosun's own objects in a target cluster: the namespace `bosun-system` (ARCHITECTURE invariant 5) and the
 * ConfigMaps that hold its state there (the add-on inventory, the apply journal).
 */
import type * as k8s from "@kubernetes/client-node";
import { BOSUN_NAMESPACE, MANAGED_BY_BOSUN as MANAGED_BY } from "../constants.js";
import { createIfAbsent } from "./errors.js";

/** Creates `bosun-system` unless it exists. */
export async function ensureBosunNamespace(core: k8s.CoreV1Api): Promise<void> {
  await createIfAbsent(() => core.createNamespace({ body: { metadata: { name: BOSUN_NAMESPACE, labels: MANAGED_BY } } }));
}

/**
 * Creates `bosun-system` and an empty state ConfigMap `name` in it unless they exist; `annotations` record
 * the format of what the ConfigMap holds.
 */
export async function ensureStateConfigMap(core: k8s.CoreV1Api, name: string, annotations: Record<string, string>): Promise<void> {
  await ensureBosunNamespace(core);
  await createIfAbsent(() =>
    core.createNamespacedConfigMap({
      namespace: BOSUN_NAMESPACE,
      body: { metadata: { name, namespace: BOSUN_NAMESPACE, labels: MANAGED_BY, annotations }, data: {} },
    }),
  );
}
