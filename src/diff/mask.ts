/**
 * Structural secret masking: by kind and field, and by values marked secret — never a regex over text
 * (ARCHITECTURE invariant 7). Every diff, plan and message that could carry a Secret's data or a secret
 * Helm value is built from objects that went through these functions first.
 *
 * Masking keeps change visible without revealing content: when a secret field differs between two
 * versions, both sides show a different placeholder, so the diff still says "this changed".
 */

/** What a masked value is replaced with when it is the same on both sides (or has no other side). */
export const MASKED = "(masked)";
/** Placeholders for a secret value that differs between the live and the desired side. */
export const MASKED_BEFORE = "(masked: before)";
export const MASKED_AFTER = "(masked: after)";

/** Annotations that can hold a whole copy of an object, Secret data included. */
const COPY_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A path into a values tree, one key per element (`["auth", "password"]`). */
export type ValuePath = readonly string[];

/** Whether an object is a Secret, whose `data` and `stringData` are secret. */
function isSecret(object: unknown): object is { kind: "Secret"; data?: Record<string, unknown>; stringData?: Record<string, unknown> } {
  return typeof object === "object" && object !== null && (object as { kind?: unknown }).kind === "Secret";
}

/**
 * Masks one Kubernetes object: a Secret's `data` and `stringData` values, and any annotation that copies
 * the object. Returns a new object; the input is not changed.
 */
export function maskObject<T>(object: T): T {
  return maskObjectPair(object, undefined).before;
}

/**
 * Masks two versions of the same object (live and desired) together: a secret field equal on both sides
 * becomes {@link MASKED} on both; one that differs becomes {@link MASKED_BEFORE} / {@link MASKED_AFTER}.
 * Either side may be undefined (an object being created or deleted).
 */
export function maskObjectPair<T>(before: T, after: T | undefined): { before: T; after: T | undefined } {
  const a = structuredClone(before);
  const b = after === undefined ? undefined : structuredClone(after);
  for (const field of ["data", "stringData"] as const) {
    const left = isSecret(a) ? a[field] : undefined;
    const right = isSecret(b) ? b[field] : undefined;
    maskMaps(left, right);
  }
  for (const side of [a, b]) {
    const annotations = (side as { metadata?: { annotations?: Record<string, string> } } | undefined)?.metadata?.annotations;
    if (!annotations) continue;
    for (const key of COPY_ANNOTATIONS) {
      if (key in annotations) annotations[key] = MASKED;
    }
  }
  return { before: a, after: b };
}

function maskMaps(left: Record<string, unknown> | undefined, right: Record<string, unknown> | undefined): void {
  const original = { ...left };
  for (const key of Object.keys(left ?? {})) {
    const same = right !== undefined && key in right && right[key] === original[key];
    if (left) left[key] = same || right === undefined ? MASKED : MASKED_BEFORE;
  }
  for (const key of Object.keys(right ?? {})) {
    const same = left !== undefined && key in original && original[key] === right?.[key];
    if (right) right[key] = same || left === undefined ? MASKED : MASKED_AFTER;
  }
}

/**
 * Masks the values at `paths` in a Helm values tree (values marked secret in the spec), in two versions
 * together like {@link maskObjectPair}. A path that does not exist on a side is left alone there.
 */
export function maskValuesPair(
  before: Record<string, unknown>,
  after: Record<string, unknown> | undefined,
  paths: readonly ValuePath[],
): { before: Record<string, unknown>; after: Record<string, unknown> | undefined } {
  const a = structuredClone(before) as Json;
  const b = after === undefined ? undefined : (structuredClone(after) as Json);
  for (const path of paths) {
    const left = lookup(a, path);
    const right = b === undefined ? undefined : lookup(b, path);
    const same = left.found && right?.found === true && JSON.stringify(left.value) === JSON.stringify(right.value);
    if (left.found) assign(a, path, same || b === undefined ? MASKED : MASKED_BEFORE);
    if (b !== undefined && right?.found) assign(b, path, same ? MASKED : MASKED_AFTER);
  }
  return { before: a as Record<string, unknown>, after: b as Record<string, unknown> | undefined };
}

/** Masks the values at `paths` in one values tree. */
export function maskValues(values: Record<string, unknown>, paths: readonly ValuePath[]): Record<string, unknown> {
  return maskValuesPair(values, undefined, paths).before;
}

function lookup(tree: Json, path: ValuePath): { found: boolean; value?: Json } {
  let node: Json = tree;
  for (const key of path) {
    if (typeof node !== "object" || node === null || Array.isArray(node) || !(key in node)) return { found: false };
    node = node[key] as Json;
  }
  return { found: true, value: node };
}

function assign(tree: Json, path: ValuePath, value: string): void {
  let node: Json = tree;
  for (const key of path.slice(0, -1)) node = (node as Record<string, Json>)[key] as Json;
  (node as Record<string, Json>)[path[path.length - 1] as string] = value;
}
