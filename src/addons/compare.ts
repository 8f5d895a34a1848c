/**
 * Compares a desired Kubernetes object with the live cluster the way `kubectl diff --server-side` does: a
 * server-side apply with `dryRun=All` says what the API server would store, and that is diffed against
 * what it stores now. Both sides therefore carry the same defaults, and fields the server sets
 * (managedFields, resourceVersion, uid, generation, timestamps, status) are dropped before diffing, so
 * right after an apply nothing shows as changed. Secret data is masked on both sides before any text is
 * produced. Used for add-on objects and for the backup CronJob. The pure half — normalizing and diffing the
 * two sides — is `src/diff/objects.ts`; this file makes the requests.
 */
import { diffObjects, normalizeForDiff, objectId } from "../diff/objects.js";
import { KubeApiError, type KubeObject, type KubeRest } from "../kube/rest.js";
import type { ObjectChange } from "../plan/observed.js";

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
