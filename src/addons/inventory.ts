/**
 * The add-on inventory of one cluster: what bosun applied for each add-on, so that objects an add-on no
 * longer renders are pruned — and only those (STYLE item 4: prune is a pure diff of the previous and the
 * current inventory; an object whose delete failed stays in it).
 *
 * Format — the ConfigMap `bosun-system/bosun-inventory`, labelled `app.kubernetes.io/managed-by: bosun`
 * and annotated `bosun.dev/inventory-format: "2"`, with one `data` key per add-on (its name, a DNS-1123
 * label, so always a valid key) whose value is JSON:
 *
 * ```json
 * {"kind":"kustomize","namespace":"config","seq":2,
 *  "objects":[{"id":"ConfigMap/config/settings","apiVersion":"v1"},{"id":"Deployment.apps/config/agent","apiVersion":"apps/v1"}]}
 * {"kind":"helm","namespace":"web","seq":1,"objects":[],"secretPaths":[["auth","token"]]}
 * ```
 *
 * - `kind`: `helm` or `kustomize`; `namespace`: the add-on's namespace, or null.
 * - `seq`: install order — given once, when the add-on is first written (the highest `seq` so far + 1), and
 *   kept on rewrites, so `installed` lists add-ons in the order they were installed.
 * - `objects`: what was applied for a Kustomize add-on, sorted by `id` — {@link inventoryId}:
 *   `Kind.group/namespace/name`, `Kind.group/name` when cluster-scoped, the group left out for the core
 *   group (`ConfigMap/config/settings`) — so two CRDs of the same Kind in different groups never share an
 *   id, and pruning compares like with like. Each carries its `apiVersion` so that prune can address the
 *   object. Helm add-ons record none: Helm tracks its own objects in its release.
 * - Format 1 (ids without the group) is still read: each id is qualified with the group of its own
 *   `apiVersion`, which is exact, and the whole ConfigMap is written back in format 2 on the next write.
 *   A bosun that reads only format 1 refuses format 2 (it would mistake `Deployment.apps` for a kind).
 * - `secretPaths` (Helm, optional): the values paths that were secret when bosun installed the release,
 *   so that the release's values stay masked in diffs even after the spec stops marking them secret.
 */
import type * as k8s from "@kubernetes/client-node";
import { GROUPS, identity } from "../identity.js";
import { InvalidInputError } from "../errors.js";
import { retryOnConflict } from "../kube/errors.js";
import { BOSUN_NAMESPACE, INVENTORY_FORMAT_ANNOTATION } from "../constants.js";
import { ensureStateConfigMap } from "../kube/system.js";
import type { KubeObject, KubeRest } from "../kube/rest.js";
import type { InstalledAddon } from "../plan/observed.js";
import { AddonApplyError } from "./health.js";

/** Name of the inventory ConfigMap. */
export const INVENTORY_NAME = "bosun-inventory";
/** The entry format this module writes. */
export const INVENTORY_FORMAT = "2";
/** Formats this module reads (1 is migrated on read, see the module comment). */
const READABLE_FORMATS = new Set(["1", INVENTORY_FORMAT]);

const INVENTORY_PATH = `/api/v1/namespaces/${BOSUN_NAMESPACE}/configmaps/${INVENTORY_NAME}`;

/** One object recorded for an add-on. */
export interface InventoryObject {
  /** {@link inventoryId}: `Kind.group/namespace/name`, or `Kind.group/name` when cluster-scoped. */
  id: string;
  apiVersion: string;
}

/** One add-on's inventory entry, as stored. */
export interface InventoryEntry {
  name: string;
  kind: "helm" | "kustomize";
  namespace: string | null;
  /** Install order (see the module comment). */
  seq: number;
  /** Sorted by id. */
  objects: InventoryObject[];
  /** Helm: values paths that were secret at install; empty when none. */
  secretPaths: string[][];
  /**
   * Kustomize: the last apply changed objects that nobody has seen healthy yet — it is under way, was
   * interrupted (a killed bosun), or its health check failed. The planner applies such an add-on again,
   * until an apply ends with its workloads ready and clears this. Absent when false.
   */
  incomplete?: true;
}

/** What to record for an add-on: its objects as applied (or their ids and apiVersions). */
export interface InventoryWrite {
  name: string;
  kind: "helm" | "kustomize";
  namespace: string | null;
  objects: readonly (InventoryObject | Pick<KubeObject, "apiVersion" | "kind" | "metadata">)[];
  secretPaths?: readonly (readonly string[])[];
  /** See {@link InventoryEntry.incomplete}. */
  incomplete?: boolean;
}

/**
 * The inventory entry of one add-on of `kind`, if any. An entry of the other kind means the add-on changed
 * kind in the spec: that one must be uninstalled first, so it is an `AddonApplyError`.
 */
export async function inventoryEntryOfKind(rest: Pick<KubeRest, "get" | "cluster">, name: string, kind: InventoryEntry["kind"]): Promise<InventoryEntry | undefined> {
  const entry = (await readInventoryEntries(rest)).find((e) => e.name === name);
  if (entry && entry.kind !== kind) {
    throw new AddonApplyError(name, "inventory", `add-on ${name}: the inventory records it as a ${entry.kind} add-on; uninstall that first`);
  }
  return entry;
}

/**
 * Reads the inventory with one GET: every add-on bosun recorded, in install order. Empty when there is no
 * inventory yet. An entry bosun cannot read is an `InvalidInputError` naming the ConfigMap and the key.
 */
export async function readInventoryEntries(rest: Pick<KubeRest, "get" | "cluster">): Promise<InventoryEntry[]> {
  const configMap = await rest.get<InventoryConfigMap>(INVENTORY_PATH);
  return configMap === null ? [] : decodeInventory(configMap, rest.cluster);
}

/** Reads the inventory with one GET, as the planner's `InstalledAddon`s, in install order. */
export async function readInventory(rest: Pick<KubeRest, "get" | "cluster">): Promise<InstalledAddon[]> {
  return (await readInventoryEntries(rest)).map(toInstalledAddon);
}

/** An entry as the planner sees it. */
export function toInstalledAddon(entry: InventoryEntry): InstalledAddon {
  return { name: entry.name, kind: entry.kind, namespace: entry.namespace, objects: entry.objects.map((o) => o.id) };
}

/** The parts of the inventory ConfigMap this module reads. */
export interface InventoryConfigMap {
  metadata?: { annotations?: Record<string, string> | undefined; resourceVersion?: string | undefined };
  data?: Record<string, string> | undefined;
}

/** Decodes the inventory ConfigMap's entries, in install order (`seq`, then name). */
export function decodeInventory(configMap: InventoryConfigMap, cluster: string): InventoryEntry[] {
  const where = identity({ cluster, group: GROUPS.core, kind: "ConfigMap", namespace: BOSUN_NAMESPACE, name: INVENTORY_NAME });
  const format = configMap.metadata?.annotations?.[INVENTORY_FORMAT_ANNOTATION];
  if (format !== undefined && !READABLE_FORMATS.has(format)) {
    throw new InvalidInputError(`${where}: inventory format ${format} is not one this bosun reads (${[...READABLE_FORMATS].join(", ")}); upgrade bosun`, { identity: where });
  }
  const entries = Object.entries(configMap.data ?? {}).map(([name, value]) => decodeEntry(name, value, where));
  return entries.sort((a, b) => a.seq - b.seq || compareStrings(a.name, b.name));
}

function decodeEntry(name: string, value: string, where: string): InventoryEntry {
  const bad = (why: string): InvalidInputError => new InvalidInputError(`${where}: entry ${name}: ${why}`, { identity: where });
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    throw bad("not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("not a JSON object");
  const entry = raw as Record<string, unknown>;
  if (entry.kind !== "helm" && entry.kind !== "kustomize") throw bad("kind must be helm or kustomize");
  if (entry.namespace !== null && typeof entry.namespace !== "string") throw bad("namespace must be a string or null");
  if (typeof entry.seq !== "number" || !Number.isInteger(entry.seq)) throw bad("seq must be an integer");
  const objects = entry.objects ?? [];
  if (!Array.isArray(objects) || !objects.every(isInventoryObject)) throw bad("objects must be a list of {id, apiVersion}");
  const secretPaths = entry.secretPaths ?? [];
  if (!Array.isArray(secretPaths) || !secretPaths.every((p) => Array.isArray(p) && p.every((k) => typeof k === "string"))) {
    throw bad("secretPaths must be a list of lists of keys");
  }
  return {
    name,
    kind: entry.kind,
    namespace: entry.namespace,
    seq: entry.seq,
    objects: objects.map(migrateObject).sort((a, b) => compareStrings(a.id, b.id)),
    secretPaths,
    ...(entry.incomplete === true ? { incomplete: true as const } : {}),
  };
}

/**
 * An object of either format with its format-2 id: a format-1 id (`Kind/…`, no group) gets the group of
 * its own apiVersion. Pure.
 */
export function migrateObject(object: InventoryObject): InventoryObject {
  const slash = object.id.indexOf("/");
  const kind = slash < 0 ? object.id : object.id.slice(0, slash);
  if (kind.includes(".")) return { id: object.id, apiVersion: object.apiVersion };
  const group = groupOf(object.apiVersion);
  return { id: group === "" ? object.id : `${kind}.${group}${object.id.slice(kind.length)}`, apiVersion: object.apiVersion };
}

/** The API group of an apiVersion (`apps/v1` → `apps`; `v1` → the core group, ``). Pure. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.lastIndexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * The inventory identity of an object: `Kind.group/namespace/name` (or `Kind.group/name` when
 * cluster-scoped; the group left out for the core group). Two Kinds of the same name in different groups
 * get different ids. Pure.
 */
export function inventoryId(object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  const group = groupOf(object.apiVersion);
  const ns = object.metadata.namespace ? `${object.metadata.namespace}/` : "";
  return `${object.kind}${group === "" ? "" : `.${group}`}/${ns}${object.metadata.name}`;
}

/** Splits an inventory id into its parts. Pure; undefined when it is not an id. */
export function parseInventoryId(id: string): { kind: string; group: string; namespace: string | undefined; name: string } | undefined {
  const parts = id.split("/");
  const head = parts[0] ?? "";
  const dot = head.indexOf(".");
  const kind = dot < 0 ? head : head.slice(0, dot);
  const group = dot < 0 ? "" : head.slice(dot + 1);
  if (parts.length === 3) return { kind, group, namespace: parts[1], name: parts[2] ?? "" };
  if (parts.length === 2) return { kind, group, namespace: undefined, name: parts[1] ?? "" };
  return undefined;
}

function isInventoryObject(value: unknown): value is InventoryObject {
  const object = value as Partial<InventoryObject> | null;
  return typeof object === "object" && object !== null && typeof object.id === "string" && typeof object.apiVersion === "string";
}

/** Encodes one entry as stored (stable key order, objects sorted and deduplicated by id). */
export function encodeEntry(entry: Omit<InventoryEntry, "name">): string {
  const objects = [...new Map(entry.objects.map((o) => [o.id, { id: o.id, apiVersion: o.apiVersion }])).values()].sort((a, b) => compareStrings(a.id, b.id));
  return JSON.stringify({
    kind: entry.kind,
    namespace: entry.namespace,
    seq: entry.seq,
    objects,
    ...(entry.secretPaths.length > 0 ? { secretPaths: entry.secretPaths } : {}),
    ...(entry.incomplete === true ? { incomplete: true } : {}),
  });
}

/**
 * Objects to prune: the ids of the previous inventory that the current render no longer has, sorted and
 * without duplicates. Pure.
 */
export function pruneList(previous: readonly string[], rendered: readonly string[]): string[] {
  const keep = new Set(rendered);
  return [...new Set(previous)].filter((id) => !keep.has(id)).sort(compareStrings);
}

/**
 * Records (or replaces) one add-on's entry: creates `bosun-system` and the ConfigMap when missing, and
 * rewrites the entry with a compare-and-swap on the ConfigMap's resourceVersion, retried on conflict. An
 * existing entry keeps its `seq`.
 */
export async function writeInventoryEntry(rest: KubeRest, write: InventoryWrite): Promise<void> {
  await ensureInventory(rest);
  const objects = write.objects.map((o) => ("id" in o ? migrateObject(o) : { id: inventoryId(o), apiVersion: o.apiVersion }));
  await retryOnConflict(async () => {
    const configMap = await rest.get<k8s.V1ConfigMap>(INVENTORY_PATH);
    if (configMap === null) throw new InvalidInputError(`${rest.cluster}:ConfigMap/${BOSUN_NAMESPACE}/${INVENTORY_NAME} disappeared while being written; try again`);
    const entries = decodeInventory(configMap, "");
    const previous = entries.find((e) => e.name === write.name);
    const seq = previous?.seq ?? Math.max(0, ...entries.map((e) => e.seq)) + 1;
    const value = encodeEntry({
      kind: write.kind,
      namespace: write.namespace,
      seq,
      objects,
      secretPaths: (write.secretPaths ?? []).map((p) => [...p]),
      ...(write.incomplete === true ? { incomplete: true as const } : {}),
    });
    // Every entry is written back in the current format (migrating a format-1 inventory as a whole).
    configMap.data = { ...Object.fromEntries(entries.map(({ name, ...entry }) => [name, encodeEntry(entry)])), [write.name]: value };
    setFormat(configMap);
    await rest.replace(INVENTORY_PATH, configMap, `write ${BOSUN_NAMESPACE}/${INVENTORY_NAME}`);
  }, 10, rest.signal);
}

/** Removes one add-on's entry (after it was uninstalled); nothing happens when there is none. */
export async function removeInventoryEntry(rest: KubeRest, name: string): Promise<void> {
  await retryOnConflict(async () => {
    const configMap = await rest.get<k8s.V1ConfigMap>(INVENTORY_PATH);
    if (configMap?.data === undefined || !(name in configMap.data)) return;
    const entries = decodeInventory(configMap, rest.cluster).filter((e) => e.name !== name);
    configMap.data = Object.fromEntries(entries.map(({ name: key, ...entry }) => [key, encodeEntry(entry)]));
    setFormat(configMap);
    await rest.replace(INVENTORY_PATH, configMap, `write ${BOSUN_NAMESPACE}/${INVENTORY_NAME}`);
  }, 10, rest.signal);
}

async function ensureInventory(rest: KubeRest): Promise<void> {
  await ensureStateConfigMap(rest, INVENTORY_NAME, { [INVENTORY_FORMAT_ANNOTATION]: INVENTORY_FORMAT });
}

function setFormat(configMap: k8s.V1ConfigMap): void {
  const metadata = configMap.metadata ?? {};
  metadata.annotations = { ...metadata.annotations, [INVENTORY_FORMAT_ANNOTATION]: INVENTORY_FORMAT };
  configMap.metadata = metadata;
}

/** Code-unit order: the same everywhere, whatever the locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
