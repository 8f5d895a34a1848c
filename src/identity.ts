/**
 * The one identity string for a Kubernetes object, used in logs, errors, plans and inventories:
 * `cluster:Kind/namespace/name`, or `cluster:Kind/name` for cluster-scoped objects.
 */

/** The parts that identify one object in one cluster. */
export interface ObjectRef {
  cluster: string;
  kind: string;
  namespace?: string | undefined;
  name: string;
}

/** Formats an object reference as bosun's identity string. */
export function identity(ref: ObjectRef): string {
  const ns = ref.namespace ? `${ref.namespace}/` : "";
  return `${ref.cluster}:${ref.kind}/${ns}${ref.name}`;
}
