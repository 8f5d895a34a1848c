/**
 * Applying and deleting a Kustomize add-on, as a pipeline of named phases (STYLE item 5), each safe to
 * re-run after a crash:
 *
 * 1. **render** — `kustomize build` through `renderAddon` (every object labelled `bosun.dev/addon=<name>`).
 * 2. **inventory (intent)** — before anything is created, the add-on's inventory entry is widened to the
 *    previous objects plus the rendered ones, so that whatever a crash leaves behind is recorded and can be
 *    pruned or deleted later; since new objects are about to be created, it is marked `incomplete`.
 * 3. **apply** — server-side apply as field manager `bosun` with `force` (the fleet is the source of truth),
 *    CustomResourceDefinitions and Namespaces first; then every applied CRD must be `Established` before
 *    the rest, so a custom resource of a CRD in the same overlay applies in one go. The request body is the
 *    rendered JSON exactly as `bosun plan` dry-runs it, so the plan right after an apply is empty.
 * 4. **inventory** — the entry keeps the previous plus the rendered objects, still marked `incomplete` when
 *    this step changed anything (or an earlier one left the mark).
 * 5. **health** — Deployments, StatefulSets, DaemonSets and Jobs must be ready within the add-on's
 *    `timeoutSeconds` (counted from the start of the step); then the `incomplete` mark is cleared.
 *
 * Prune is its own step (`addon.prune`, {@link pruneKustomizeAddon}: render → prune → inventory), so a
 * step does exactly what its kind says and the journal records each under its own id:
 *
 * - **prune** — a pure diff of the inventory and the render (`pruneList`): objects that left the overlay
 *   are deleted (propagation `Background`; already gone is fine), namespaced objects before Namespaces
 *   before CRDs. An object whose label no longer names this add-on is not deleted (another add-on took it
 *   over) and leaves the inventory. An object whose delete failed stays in it (STYLE item 4), and the step
 *   fails. Nothing is applied.
 * - **inventory** — the entry becomes the rendered objects plus the failed deletes.
 *
 * Why the mark: a step interrupted after its objects landed but before its workloads were seen ready (a
 * killed bosun), or whose health check failed, leaves objects that a plan finds exactly as desired — the
 * next plan would show nothing to do, and the next apply would report the cluster converged with nobody
 * having seen it healthy. The planner treats a marked add-on as not yet applied, so the next apply runs the
 * step again and waits for its health. (Objects changed in place — no new object — are marked only once
 * they are applied: a crash in those few requests leaves them unmarked, but then the objects not yet
 * applied still differ and the next plan applies the add-on anyway, unless the crash fell exactly after the
 * last one.)
 *
 * Re-running a finished step changes nothing: a server-side apply of identical content is not persisted
 * (no new resourceVersion), there is nothing left to prune, and the inventory is rewritten only when it
 * differs.
 */
import { InternalError } from "../errors.js";
import { GROUPS, identity, objectIdentity } from "../identity.js";
import { KubeApiError, UnreachableError, type KubeObject, type KubeRest } from "../kube/rest.js";
import { pollUntil } from "../poll.js";
import type { DesiredAddon, DesiredCluster } from "../spec/types.js";
import { AddonApplyError, waitHealthy } from "./health.js";
import {
  compareStrings,
  inventoryEntryOfKind,
  inventoryId,
  parseInventoryId,
  pruneList,
  removeInventoryEntry,
  writeInventoryEntry,
  type InventoryEntry,
  type InventoryObject,
} from "./inventory.js";
import { ADDON_LABEL, FIELD_MANAGER } from "../constants.js";
import { failureMessage } from "./observe.js";
import { AddonRenderError, renderAddon } from "./render.js";

/** What the Kustomize verbs need: the cluster's REST client and kustomize. */
export interface KustomizeApplyContext {
  /**
   * One cluster's REST client (objects and the inventory); its `cluster` names the cluster in identities
   * and errors, and its signal (the run's: a lost lock, SIGTERM) stops every request and wait.
   */
  rest: KubeRest;
  /** The kustomize executable (else BOSUN_KUSTOMIZE, PATH, bosun's binary cache). */
  kustomize?: string;
  /** Progress, one line at a time (never a value). */
  log?: (line: string) => void;
}

/** What a server-side apply did to one object (Flux's vocabulary). */
export type ObjectAction = "created" | "configured" | "unchanged";

/** One applied object: its inventory id (`Kind.group/namespace/name`) and what happened to it. */
export interface AppliedObject {
  id: string;
  action: ObjectAction;
}

/** What `applyKustomizeAddon` did. */
export interface KustomizeApplyResult {
  /** `unchanged` when no object was created or changed (a re-run of a finished step). */
  outcome: "applied" | "unchanged";
  /** Every rendered object, in apply order. */
  objects: AppliedObject[];
}

/** What `pruneKustomizeAddon` did. */
export interface KustomizePruneResult {
  /** `unchanged` when nothing had left the overlay (a re-run of a finished step). */
  outcome: "pruned" | "unchanged";
  /** Objects deleted because they left the overlay (already gone counts), in deletion order. */
  pruned: string[];
  /** Objects that left the overlay but now belong to another add-on (their label says so): not deleted. */
  released: string[];
}

/** What `deleteKustomizeAddon` did. */
export interface KustomizeDeleteResult {
  /** `absent` when the inventory had no entry for the add-on. */
  outcome: "deleted" | "absent";
  /** Deleted (or already gone) objects, in deletion order. */
  deleted: string[];
  /** Objects left alone because their label names another add-on. */
  released: string[];
}

/**
 * Applies one Kustomize add-on to one cluster (see the module comment for the phases); nothing is pruned
 * here (that is {@link pruneKustomizeAddon}). `fleetDir` is the fleet checkout the add-on's path is
 * relative to. Failures are typed: `RenderFailed` (render), `ApplyFailed` with `phase` apply or inventory,
 * `HealthTimeout` (phase health: workloads or CRDs not ready in time); an unreachable cluster propagates as
 * `UnreachableError`, a lost lock as the run signal's reason.
 */
export async function applyKustomizeAddon(
  ctx: KustomizeApplyContext,
  cluster: Pick<DesiredCluster, "name">,
  addon: DesiredAddon,
  fleetDir: string,
): Promise<KustomizeApplyResult> {
  const deadline = Date.now() + addon.timeoutSeconds * 1000;
  const log = (line: string): void => ctx.log?.(`${cluster.name}: add-on ${addon.name}: ${line}`);
  const objects = await render(ctx, addon, fleetDir);

  // inventory (intent): everything this step may create is recorded before it is created.
  const previous = await inventoryEntryOfKind(ctx.rest, addon.name, "kustomize");
  const previousObjects = previous?.objects ?? [];
  const rendered = objects.map(inventoryObject);
  const intent = union(previousObjects, rendered);
  const creating = intent.length > previousObjects.length;
  const recorded = await recordInventory(ctx, addon, previous, intent, previous?.incomplete === true || creating);

  // apply: CRDs and Namespaces, wait for the CRDs, then the rest.
  const { first, rest } = applyStages(objects);
  const paths = new PathResolver(ctx.rest, objects);
  const applied: AppliedObject[] = [];
  applied.push(...(await applyAll(ctx, paths, cluster.name, addon.name, first, log)));
  await waitEstablished(ctx, cluster.name, addon.name, first, deadline);
  applied.push(...(await applyAll(ctx, paths, cluster.name, addon.name, rest, log)));

  // inventory: objects that left the overlay stay recorded until the prune step deleted them; incomplete
  // until seen healthy.
  const changed = applied.some((a) => a.action !== "unchanged");
  const final = await recordInventory(ctx, addon, recorded, intent, recorded.incomplete === true || changed);

  // health
  await waitHealthy({ rest: ctx.rest }, objects, Math.max(0, deadline - Date.now()), { addon: addon.name, reportedTimeoutMs: addon.timeoutSeconds * 1000 });
  if (final.incomplete === true) await recordInventory(ctx, addon, final, final.objects, false);
  log(changed ? "applied" : "unchanged");
  return { outcome: changed ? "applied" : "unchanged", objects: applied };
}

/**
 * Prunes one Kustomize add-on (the `addon.prune` step): renders it, deletes the objects its inventory
 * records that the render no longer has, and records the rendered objects plus any that could not be
 * deleted. Nothing is applied. Failures: `RenderFailed`, `ApplyFailed` with phase prune or inventory.
 */
export async function pruneKustomizeAddon(
  ctx: KustomizeApplyContext,
  cluster: Pick<DesiredCluster, "name">,
  addon: DesiredAddon,
  fleetDir: string,
): Promise<KustomizePruneResult> {
  const log = (line: string): void => ctx.log?.(`${cluster.name}: add-on ${addon.name}: ${line}`);
  const objects = await render(ctx, addon, fleetDir);
  const previous = await inventoryEntryOfKind(ctx.rest, addon.name, "kustomize");
  const previousObjects = previous?.objects ?? [];
  const rendered = objects.map(inventoryObject);
  const leaving = new Set(pruneList(previousObjects.map((o) => o.id), rendered.map((o) => o.id)));
  if (leaving.size === 0) return { outcome: "unchanged", pruned: [], released: [] };
  const prune = await deleteAll(ctx, cluster.name, addon.name, previousObjects.filter((o) => leaving.has(o.id)), log);
  // Objects of the render not yet recorded (none after its apply step) are kept out: only the apply step
  // records what it is about to create.
  const recordedIds = new Set(previousObjects.map((o) => o.id));
  const kept = union(rendered.filter((o) => recordedIds.has(o.id)), prune.failed.map((f) => f.object));
  await recordInventory(ctx, addon, previous, kept, previous?.incomplete === true);
  if (prune.failed.length > 0) {
    throw new AddonApplyError(addon.name, "prune", `add-on ${addon.name}: could not prune ${describeFailures(prune.failed)}`, {
      retryable: prune.failed.some((f) => f.retryable),
      ...(prune.failed.length === 1 && prune.failed[0] ? { identity: prune.failed[0].identity } : {}),
    });
  }
  log(`pruned ${prune.deleted.length} object${prune.deleted.length === 1 ? "" : "s"}`);
  return { outcome: "pruned", pruned: prune.deleted, released: prune.released };
}

/** The render phase: `kustomize build`, stopped with the run. */
async function render(ctx: KustomizeApplyContext, addon: DesiredAddon, fleetDir: string): Promise<KubeObject[]> {
  if (addon.source.kind !== "kustomize") throw new InternalError(`a Kustomize verb was called for the Helm add-on ${addon.name}`);
  try {
    const options = { ...(ctx.kustomize === undefined ? {} : { kustomize: ctx.kustomize }), ...(ctx.rest.signal ? { signal: ctx.rest.signal } : {}) };
    return (await renderAddon(ctx.rest, addon, fleetDir, {}, options)).objects;
  } catch (error) {
    if (error instanceof AddonRenderError || error instanceof UnreachableError || ctx.rest.signal?.aborted) throw error;
    throw new AddonRenderError(addon.name, failureMessage(error, addon, [], "rendering"), error);
  }
}

/**
 * Deletes every object a Kustomize add-on's inventory records (an add-on removed from the spec):
 * namespaced objects first, then Namespaces, then CRDs, each with propagation `Background`; then drops the
 * inventory entry. Objects whose label names another add-on are left alone. When a delete fails, the
 * entry keeps exactly the objects that could not be deleted and the step fails (`ApplyFailed`, phase
 * prune); a re-run retries them. Without an entry, nothing happens (`absent`).
 */
export async function deleteKustomizeAddon(ctx: KustomizeApplyContext, cluster: Pick<DesiredCluster, "name">, name: string): Promise<KustomizeDeleteResult> {
  const entry = await inventoryEntryOfKind(ctx.rest, name, "kustomize");
  if (!entry) return { outcome: "absent", deleted: [], released: [] };
  const log = (line: string): void => ctx.log?.(`${cluster.name}: add-on ${name}: ${line}`);
  const result = await deleteAll(ctx, cluster.name, name, entry.objects, log);
  if (result.failed.length > 0) {
    await writeInventoryEntry(ctx.rest, { name, kind: "kustomize", namespace: entry.namespace, objects: result.failed.map((f) => f.object) });
    throw new AddonApplyError(name, "prune", `add-on ${name}: could not delete ${describeFailures(result.failed)}`, {
      retryable: result.failed.some((f) => f.retryable),
      ...(result.failed.length === 1 && result.failed[0] ? { identity: result.failed[0].identity } : {}),
    });
  }
  await removeInventoryEntry(ctx.rest, name);
  log("deleted");
  return { outcome: "deleted", deleted: result.deleted, released: result.released };
}

/** The two apply stages: CRDs and Namespaces first (in render order), then everything else. Pure. */
export function applyStages<T extends Pick<KubeObject, "apiVersion" | "kind">>(objects: readonly T[]): { first: T[]; rest: T[] } {
  const first = objects.filter((o) => isCrd(o) || isNamespace(o));
  const rest = objects.filter((o) => !isCrd(o) && !isNamespace(o));
  return { first: [...first.filter(isCrd), ...first.filter((o) => !isCrd(o))], rest };
}

/**
 * The order objects are deleted in: everything else first, then Namespaces (deleting one deletes what is
 * in it), then CRDs (deleting one deletes its custom resources); by id within each group. Pure.
 */
export function deleteOrder<T extends InventoryObject>(objects: readonly T[]): T[] {
  const rank = (o: InventoryObject): number => {
    const { kind } = parseObjectId(o.id);
    // The group is in the apiVersion too; both agree for ids bosun wrote.
    if (kind === "CustomResourceDefinition" && o.apiVersion.startsWith("apiextensions.k8s.io/")) return 2;
    if (kind === "Namespace" && o.apiVersion === "v1") return 1;
    return 0;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b) || compareStrings(a.id, b.id));
}

/** Splits an inventory id (`Kind.group/namespace/name` or `Kind.group/name`) into its parts. Pure. */
export function parseObjectId(id: string): { kind: string; group: string; namespace: string | undefined; name: string } {
  const parts = parseInventoryId(id);
  if (parts === undefined) throw new InternalError(`inventory object id ${id} is not Kind.group/namespace/name or Kind.group/name`);
  return parts;
}

function isCrd(object: Pick<KubeObject, "apiVersion" | "kind">): boolean {
  return object.kind === "CustomResourceDefinition" && object.apiVersion.startsWith("apiextensions.k8s.io/");
}

function isNamespace(object: Pick<KubeObject, "apiVersion" | "kind">): boolean {
  return object.kind === "Namespace" && object.apiVersion === "v1";
}

function inventoryObject(object: KubeObject): InventoryObject {
  return { id: inventoryId(object), apiVersion: object.apiVersion };
}

/** Objects of `a` and `b`, by id (`b`'s apiVersion wins), sorted by id. */
function union(a: readonly InventoryObject[], b: readonly InventoryObject[]): InventoryObject[] {
  const byId = new Map<string, InventoryObject>();
  for (const object of [...a, ...b]) byId.set(object.id, object);
  return [...byId.values()].sort((x, y) => compareStrings(x.id, y.id));
}

/** What the inventory records for the add-on (as far as this step knows). */
type Recorded = Pick<InventoryEntry, "namespace" | "objects" | "incomplete">;

/**
 * Writes the entry when it differs from what is `recorded` (a finished step's re-run writes nothing) and
 * returns what is recorded now. `objects` must be sorted by id; `incomplete` marks an apply not yet seen
 * healthy (see the module comment).
 */
async function recordInventory(
  ctx: KustomizeApplyContext,
  addon: DesiredAddon,
  recorded: Recorded | undefined,
  objects: InventoryObject[],
  incomplete: boolean,
): Promise<Recorded> {
  const same =
    recorded !== undefined &&
    recorded.namespace === addon.namespace &&
    (recorded.incomplete === true) === incomplete &&
    recorded.objects.length === objects.length &&
    recorded.objects.every((o, i) => o.id === objects[i]?.id && o.apiVersion === objects[i].apiVersion);
  if (same) return recorded;
  try {
    await writeInventoryEntry(ctx.rest, { name: addon.name, kind: "kustomize", namespace: addon.namespace, objects, incomplete });
  } catch (error) {
    // A stopped run (lost lock, SIGTERM) or an unreachable cluster is the run's fate, not this add-on's.
    if (error instanceof UnreachableError || ctx.rest.signal?.aborted) throw error;
    throw new AddonApplyError(addon.name, "inventory", `add-on ${addon.name}: cannot write the inventory: ${apiProblem(error)}`, { cause: error, retryable: true });
  }
  return { namespace: addon.namespace, objects, ...(incomplete ? { incomplete: true as const } : {}) };
}

/**
 * URL paths of objects. A custom resource whose CRD is in the same render gets its path from that CRD (its
 * plural and scope), since the cluster may not serve it yet when the render starts and `KubeRest` caches
 * discovery; anything else from discovery, asked again (uncached) when the cached answer does not know
 * the kind — a CRD another add-on installed in this run.
 */
class PathResolver {
  private readonly crds = new Map<string, { group: string; plural: string; namespaced: boolean }>();

  constructor(
    private readonly rest: KubeRest,
    objects: readonly KubeObject[],
  ) {
    for (const object of objects) {
      if (!isCrd(object)) continue;
      const spec = object.spec as { group?: unknown; scope?: unknown; names?: { kind?: unknown; plural?: unknown } } | undefined;
      if (typeof spec?.group === "string" && typeof spec.names?.kind === "string" && typeof spec.names.plural === "string") {
        this.crds.set(`${spec.group}/${spec.names.kind}`, { group: spec.group, plural: spec.names.plural, namespaced: spec.scope === "Namespaced" });
      }
    }
  }

  /** The object's path, or null when the cluster does not serve its kind. */
  async path(object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): Promise<string | null> {
    const slash = object.apiVersion.lastIndexOf("/");
    const group = slash < 0 ? "" : object.apiVersion.slice(0, slash);
    const crd = this.crds.get(`${group}/${object.kind}`);
    if (crd) return objectPath(object, crd.plural, crd.namespaced);
    const cached = await this.rest.objectPath(object);
    if (cached !== null) return cached;
    const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const list = await this.rest.get<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>(base);
    const resource = list?.resources?.find((r) => r.kind === object.kind && !r.name.includes("/"));
    return resource ? objectPath(object, resource.name, resource.namespaced) : null;
  }
}

function objectPath(object: Pick<KubeObject, "apiVersion" | "metadata">, plural: string, namespaced: boolean): string {
  const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const namespace = namespaced ? `/namespaces/${encodeURIComponent(object.metadata.namespace ?? "default")}` : "";
  return `${base}${namespace}/${plural}/${encodeURIComponent(object.metadata.name)}`;
}

/** A failed delete or apply, kept for the step's error and (deletes) the inventory. */
interface ObjectFailure {
  object: InventoryObject;
  identity: string;
  problem: string;
  retryable: boolean;
}

/** Applies objects one at a time in order; failures are collected and thrown together (phase apply). */
async function applyAll(
  ctx: KustomizeApplyContext,
  paths: PathResolver,
  cluster: string,
  addon: string,
  objects: readonly KubeObject[],
  log: (line: string) => void,
): Promise<AppliedObject[]> {
  const applied: AppliedObject[] = [];
  const failed: ObjectFailure[] = [];
  for (const object of objects) {
    const id = inventoryId(object);
    try {
      const action = await applyObject(ctx.rest, paths, object);
      applied.push({ id, action });
      if (action !== "unchanged") log(`${id} ${action}`);
    } catch (error) {
      // Unreachable decides the whole cluster's fate; anything but an API answer is a bug.
      if (!(error instanceof KubeApiError || error instanceof NotServedError)) throw error;
      failed.push({ object: inventoryObject(object), identity: objectIdentity(cluster, object), problem: apiProblem(error), retryable: isRetryable(error) });
    }
  }
  if (failed.length > 0) {
    throw new AddonApplyError(addon, "apply", `add-on ${addon}: could not apply ${describeFailures(failed)}`, {
      retryable: failed.some((f) => f.retryable),
      ...(failed.length === 1 && failed[0] ? { identity: failed[0].identity } : {}),
    });
  }
  return applied;
}

/**
 * Server-side applies one object as `bosun` with force. The live object is read first, so the result can
 * say created, configured (a new resourceVersion) or unchanged (an identical apply is not persisted).
 */
async function applyObject(rest: KubeRest, paths: PathResolver, object: KubeObject): Promise<ObjectAction> {
  const path = await paths.path(object);
  if (path === null) throw new NotServedError(object);
  const live = await rest.get<KubeObject>(path);
  const response = await rest.send({
    method: "PATCH",
    path,
    query: { fieldManager: FIELD_MANAGER, force: "true" },
    body: JSON.stringify(object),
    contentType: "application/apply-patch+yaml",
  });
  const stored = parseResponse(rest.cluster, response, `apply of ${inventoryId(object)}`, object.kind === "Secret");
  if (live === null) return "created";
  return stored.metadata.resourceVersion === live.metadata.resourceVersion ? "unchanged" : "configured";
}

/** The cluster does not serve the object's kind (a CRD that is neither installed nor in the overlay). */
class NotServedError extends Error {
  constructor(object: Pick<KubeObject, "apiVersion" | "kind">) {
    super(`the cluster does not serve ${object.kind} in ${object.apiVersion}`);
  }
}

/** The response's object; an error status becomes a `KubeApiError` (for Secrets with only the status reason). */
function parseResponse(cluster: string, response: { status: number; body: string }, what: string, sensitive: boolean): KubeObject {
  if (response.status >= 200 && response.status < 300) {
    try {
      return JSON.parse(response.body) as KubeObject;
    } catch {
      throw new KubeApiError(`cluster ${cluster}: ${what}: the API server sent invalid JSON`, response.status, undefined, `${cluster}:`);
    }
  }
  let status: { message?: unknown; reason?: unknown } = {};
  try {
    status = JSON.parse(response.body) as typeof status;
  } catch {
    // Not a Status object: only the HTTP status is reported.
  }
  const reason = typeof status.reason === "string" ? status.reason : undefined;
  // The API server's message can quote field values; for a Secret that could be secret data.
  const detail = sensitive ? (reason ?? "error") : typeof status.message === "string" ? status.message : (reason ?? "error");
  throw new KubeApiError(`HTTP ${response.status}: ${detail}`, response.status, reason, `${cluster}:`);
}

/** Waits until every CRD among `objects` is Established, until `deadline` (phase apply); stops with the run. */
async function waitEstablished(ctx: KustomizeApplyContext, cluster: string, addon: string, objects: readonly KubeObject[], deadline: number): Promise<void> {
  let pending = objects.filter(isCrd).map((o) => o.metadata.name);
  if (pending.length === 0) return;
  await pollUntil(
    async () => {
      const states = await Promise.all(
        pending.map(async (name) => {
          const crd = await ctx.rest.get<{ status?: { conditions?: { type?: string; status?: string }[] } }>(
            `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`,
          );
          return { name, established: crd?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") === true };
        }),
      );
      pending = states.filter((s) => !s.established).map((s) => s.name);
      return pending.length === 0 ? { done: true, value: undefined } : { done: false };
    },
    {
      deadline,
      ...(ctx.rest.signal ? { signal: ctx.rest.signal } : {}),
      onTimeout: () => {
        const ids = pending.map((name) => identity({ cluster, group: GROUPS.apiextensions, kind: "CustomResourceDefinition", name }));
        return new AddonApplyError(addon, "apply", `add-on ${addon}: not established in time: ${ids.join(", ")}`, {
          reason: "HealthTimeout",
          retryable: true,
          ...(ids.length === 1 && ids[0] ? { identity: ids[0] } : {}),
        });
      },
    },
  );
}

/** Deletes objects in {@link deleteOrder}; collects what was deleted, released and what failed. */
async function deleteAll(
  ctx: KustomizeApplyContext,
  cluster: string,
  addon: string,
  objects: readonly InventoryObject[],
  log: (line: string) => void,
): Promise<{ deleted: string[]; released: string[]; failed: ObjectFailure[] }> {
  const deleted: string[] = [];
  const released: string[] = [];
  const failed: ObjectFailure[] = [];
  const paths = new PathResolver(ctx.rest, []);
  for (const object of deleteOrder(objects)) {
    try {
      const outcome = await deleteObject(ctx.rest, paths, addon, object);
      if (outcome === "released") released.push(object.id);
      else deleted.push(object.id);
      log(`${object.id} ${outcome === "released" ? "left alone (another add-on's now)" : "deleted"}`);
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      failed.push({ object, identity: `${cluster}:${object.id}`, problem: apiProblem(error), retryable: isRetryable(error) });
    }
  }
  return { deleted, released, failed };
}

/**
 * Deletes one inventory object with propagation `Background`, only while it is still this add-on's (its
 * label) and still the object that was read (a uid precondition). Gone — or its kind no longer served — is
 * success.
 */
async function deleteObject(rest: KubeRest, paths: PathResolver, addon: string, object: InventoryObject): Promise<"deleted" | "released"> {
  const { kind, namespace, name } = parseObjectId(object.id);
  // The group comes from the recorded apiVersion (the id carries it too).
  const ref = { apiVersion: object.apiVersion, kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) } };
  const path = await paths.path(ref);
  if (path === null) return "deleted";
  const live = await rest.get<KubeObject>(path);
  if (live === null) return "deleted";
  if (live.metadata.labels?.[ADDON_LABEL] !== addon) return "released";
  const uid = typeof live.metadata.uid === "string" ? live.metadata.uid : undefined;
  const response = await rest.send({
    method: "DELETE",
    path,
    body: JSON.stringify({ apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background", ...(uid ? { preconditions: { uid } } : {}) }),
    contentType: "application/json",
  });
  if (response.status === 404) return "deleted";
  parseResponse(rest.cluster, response, `delete of ${object.id}`, kind === "Secret");
  return "deleted";
}

function describeFailures(failures: readonly ObjectFailure[]): string {
  return failures.map((f) => `${f.identity} (${f.problem})`).join("; ");
}

/** A failure's words: the API server's (already reduced for Secrets), or a fixed sentence. */
function apiProblem(error: unknown): string {
  if (error instanceof KubeApiError || error instanceof NotServedError) return error.message;
  const status = (error as { code?: unknown } | null)?.code;
  if (typeof status === "number") return `HTTP ${status}`;
  return error instanceof Error ? error.name : "unknown error";
}

function isRetryable(error: unknown): boolean {
  return error instanceof KubeApiError ? error.retryable : !(error instanceof NotServedError);
}
