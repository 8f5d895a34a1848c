/**
 * The one identity string for a Kubernetes object, used in logs, errors and plans (DESIGN: one identity,
 * one formatter, with the API group): `cluster:Kind.group/namespace/name`, `cluster:Kind.group/name` for
 * cluster-scoped objects, the group left out for the core group (`prod:Deployment.apps/web/api`,
 * `prod:Node/cp-1`). The group is part of it because two CRDs may share a Kind.
 */

/** The parts that identify one object in one cluster. */
export interface ObjectRef {
  cluster: string;
  /** The API group: `apps`, `batch`, `cluster.x-k8s.io`…; `""` for the core group. */
  group: string;
  kind: string;
  namespace?: string | undefined;
  name: string;
}

/** Well-known API groups of the kinds bosun names itself. */
export const GROUPS = {
  core: "",
  apps: "apps",
  batch: "batch",
  coordination: "coordination.k8s.io",
  apiextensions: "apiextensions.k8s.io",
} as const;

/** Formats an object reference as bosun's identity string. */
export function identity(ref: ObjectRef): string {
  const ns = ref.namespace ? `${ref.namespace}/` : "";
  const group = ref.group === "" ? "" : `.${ref.group}`;
  return `${ref.cluster}:${ref.kind}${group}/${ns}${ref.name}`;
}

/** The API group of an `apiVersion`: `apps/v1` → `apps`, `v1` → `""` (the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash === -1 ? "" : apiVersion.slice(0, slash);
}

/** The identity of a manifest-shaped object (`apiVersion`, `kind`, `metadata`) in `cluster`. */
export function objectIdentity(cluster: string, object: { apiVersion: string; kind: string; metadata: { namespace?: string | undefined; name: string } }): string {
  return identity({ cluster, group: groupOf(object.apiVersion), kind: object.kind, namespace: object.metadata.namespace, name: object.metadata.name });
}
