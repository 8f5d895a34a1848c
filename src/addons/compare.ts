/**
 * Compares a desired Kubernetes object with the live cluster the way `kubectl diff --server-side` does: a
 * server-side apply with `dryRun=All` says what the API server would store, and that is diffed against
 * what it stores now. Both sides therefore carry the same defaults, and fields the server sets
 * (managedFields, resourceVersion, uid, generation, timestamps, status) are dropped before diffing, so
 * right after an apply nothing shows as changed. Secret data is masked on both sides before any text is
 * produced. Used for add-on objects and for the backup CronJob.
 */
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";
import { KubeApiError, type KubeObject, type KubeRest } from "../kube/rest.js";
import type { ObjectChange } from "../plan/observed.js";
import { maskObjectPair } from "../diff/mask.js";

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

/**
 * Compares one desired object with the cluster through `rest`: at most three requests (discovery of its
 * group/version once per cluster, the live GET, the dry-run apply). A dry-run is made for new objects
 * too, so an invalid manifest is caught at plan time — except for a new object whose namespace does not
 * exist yet (the add-on creates it, or `helm --create-namespace` will): the API server answers such a
 * dry-run with 404, so the object is reported as `create` without the server's validation. Other errors
 * (an invalid object, a webhook denial) propagate as `KubeApiError`. A caller that already read the live
 * object passes it as `live` (null: it does not exist) to save the GET.
 */
export async function compareObject(rest: KubeRest, desired: KubeObject, fieldManager: string, known?: { live: KubeObject | null }): Promise<ObjectChange> {
  const id = objectId(desired);
  const resource = await rest.resource(desired.apiVersion, desired.kind);
  if (!resource) {
    return { id, action: "unserved", diff: diffObjects(id, undefined, normalizeForDiff(desired)) };
  }
  const live = known ? known.live : await rest.getLive(desired);
  let dryRun: KubeObject | null;
  try {
    dryRun = await rest.applyDryRun(desired, fieldManager);
  } catch (error) {
    if (live === null && error instanceof KubeApiError && error.status === 404) {
      return { id, action: "create", diff: diffObjects(id, undefined, normalizeForDiff(desired)) };
    }
    throw error;
  }
  if (live === null) {
    return { id, action: "create", diff: diffObjects(id, undefined, normalizeForDiff(desired)) };
  }
  const diff = diffObjects(id, normalizeForDiff(live), normalizeForDiff(dryRun ?? desired));
  return { id, action: diff === "" ? "unchanged" : "update", diff };
}
