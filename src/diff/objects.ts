/**
 * The pure half of comparing a desired object with the live one (`src/addons/compare.ts` makes the
 * requests): drop the fields the API server owns from both sides, mask secret data structurally
 * (`mask.ts`), and diff what is left as stable YAML. Pure: objects in, text out.
 */
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";
import type { KubeObject } from "../kube/rest.js";
import { maskObjectPair } from "./mask.js";

/** Metadata fields the API server owns; they never count as drift. */
const SERVER_METADATA = ["managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"];
/** Annotations controllers or clients write; they never count as drift. */
const SERVER_ANNOTATIONS = [
  "kubectl.kubernetes.io/last-applied-configuration",
  "deployment.kubernetes.io/revision",
  "meta.helm.sh/release-name",
  "meta.helm.sh/release-namespace",
];

/** The identity of an object inside its cluster: `Kind/namespace/name`, or `Kind/name` when cluster-scoped. */
export function objectId(object: Pick<KubeObject, "kind" | "metadata">): string {
  const ns = object.metadata.namespace ? `${object.metadata.namespace}/` : "";
  return `${object.kind}/${ns}${object.metadata.name}`;
}

/** Drops what the API server sets from an object, so two versions compare on what a user wrote. */
export function normalizeForDiff(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  delete copy.status;
  const metadata = copy.metadata as Record<string, unknown>;
  for (const field of SERVER_METADATA) Reflect.deleteProperty(metadata, field);
  const annotations = copy.metadata.annotations;
  if (annotations) {
    for (const key of SERVER_ANNOTATIONS) Reflect.deleteProperty(annotations, key);
    if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

/** A unified diff of two objects (either side may be absent), after masking; empty when equal. */
export function diffObjects(id: string, live: KubeObject | undefined, desired: KubeObject | undefined): string {
  const masked = maskObjectPair(live ?? desired, live === undefined ? undefined : desired);
  const before = live === undefined ? "" : toYaml(masked.before);
  const after = desired === undefined ? "" : toYaml(live === undefined ? masked.before : masked.after);
  if (before === after) return "";
  const patch = createTwoFilesPatch(live ? `live/${id}` : "/dev/null", desired ? `desired/${id}` : "/dev/null", before, after, undefined, undefined, { context: 3 });
  // Drop the "=====" separator line jsdiff puts first; the ---/+++ headers name the object.
  return patch.replace(/^=+\n/, "");
}

/** Stable YAML: sorted keys, so the same object always prints the same text. */
function toYaml(object: unknown): string {
  return object === undefined ? "" : stringify(object, { sortMapEntries: true, lineWidth: 0 });
}
