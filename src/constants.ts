/**
 * The names bosun writes into every cluster it manages (ARCHITECTURE invariant 5): its namespace, its
 * server-side apply field manager and the labels and annotations on what it creates. Spelled here once, so
 * the applier, the observers, the drivers, the sandbox and the tests can never disagree on them — a label
 * written under one spelling and selected under another would make bosun lose track of its own objects.
 */

/** The namespace bosun keeps its state in (lock, journal, inventory), in every cluster it manages. */
export const BOSUN_NAMESPACE = "bosun-system";

/** The field manager of every server-side apply bosun sends itself (helm's applies are `helm`'s). */
export const FIELD_MANAGER = "bosun";

/** The standard label naming who manages an object. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

/** Labels on everything bosun creates for its own use. */
export const MANAGED_BY_BOSUN: Readonly<Record<string, string>> = { [MANAGED_BY_LABEL]: "bosun" };

/** The label bosun puts on every object it applies itself (Kustomize add-ons): the add-on's name. */
export const ADDON_LABEL = "bosun.dev/addon";

/** Label on a node upgrade Job and its pod naming the node it upgrades. */
export const NODE_UPGRADE_LABEL = "bosun.dev/node-upgrade";
/** Label on a node upgrade Job naming the version it installs, `vX.Y.Z`. */
export const TARGET_VERSION_LABEL = "bosun.dev/target-version";
/** Label on a node upgrade Job naming its phase. */
export const UPGRADE_PHASE_LABEL = "bosun.dev/upgrade-phase";

/** Annotation bosun puts on a node it cordoned: the run that did. */
export const CORDONED_BY_ANNOTATION = "bosun.dev/cordoned-by";

/** Label on the pre-upgrade snapshot Job and its pods (not on the backup CronJob's). */
export const SNAPSHOT_LABEL = "bosun.dev/snapshot";
/** Label naming which part of bosun an object belongs to (`etcd-backup`). */
export const COMPONENT_LABEL = "bosun.dev/component";
/** Annotation naming the fleet cluster an object was rendered for. */
export const CLUSTER_ANNOTATION = "bosun.dev/cluster";

/** Annotation on the lock Lease identifying the holder's process (for crashed-holder takeover). */
export const HOLDER_PROCESS_ANNOTATION = "bosun.dev/holder-process";
/** Annotation on the journal ConfigMap: the format version of its entries. */
export const JOURNAL_FORMAT_ANNOTATION = "bosun.dev/journal-format";
/** Annotation on the inventory ConfigMap: the format version of its entries. */
export const INVENTORY_FORMAT_ANNOTATION = "bosun.dev/inventory-format";
