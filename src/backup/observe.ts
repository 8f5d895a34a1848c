/**
 * Observes the etcd backup CronJob of one cluster: whether it exists, when it last succeeded, and — when
 * the spec wants backups — how it compares with the desired template.
 *
 * Requests: one GET of the CronJob when backups are off; when they are on, that GET plus the server-side
 * dry-run apply and the discovery of `batch/v1` (cached per `KubeRest`, so free when another observer
 * already discovered it): three at most.
 */
import { compareObject } from "../addons/compare.js";
import { FIELD_MANAGER } from "../constants.js";
import type { KubeObject, KubeRest } from "../kube/rest.js";
import type { ObservedBackup } from "../plan/observed.js";
import type { DesiredCluster } from "../spec/types.js";
import { DEFAULT_BACKUP_IMAGES, ETCD_BACKUP_CRONJOB, etcdBackupCronJob, type BackupImages } from "./template.js";

/** Server-side apply field manager (ARCHITECTURE invariant 5). */

/** The backup CronJob's URL path. */
export const ETCD_BACKUP_CRONJOB_PATH = `/apis/batch/v1/namespaces/${ETCD_BACKUP_CRONJOB.namespace}/cronjobs/${ETCD_BACKUP_CRONJOB.name}`;

/** Reads the backup CronJob of the cluster behind `rest` and compares it with `cluster`'s spec. */
export async function observeBackup(rest: KubeRest, cluster: DesiredCluster, images: BackupImages = DEFAULT_BACKUP_IMAGES): Promise<ObservedBackup> {
  const live = await rest.get<KubeObject & { status?: { lastSuccessfulTime?: unknown } }>(ETCD_BACKUP_CRONJOB_PATH);
  const last = live?.status?.lastSuccessfulTime;
  const observed = { present: live !== null, lastSuccessfulTime: typeof last === "string" ? last : null };
  const etcd = cluster.backup.etcd;
  if (etcd === null) return { change: null, ...observed };
  return { change: await compareObject(rest, etcdBackupCronJob(cluster.name, etcd, images), FIELD_MANAGER, { live }), ...observed };
}
