/**
 * The planner's backup steps and findings (DESIGN section 5): the `backup.schedule` step that brings the etcd
 * backup CronJob to the spec, and whether the last successful backup is older than twice its interval. Pure:
 * the clock reading is a parameter.
 */
import { parseCron } from "../spec/cron.js";
import type { DesiredCluster } from "../spec/types.js";
import { countFires } from "./cron-fires.js";
import type { ObservedBackup } from "./observed.js";
import type { Finding, Step } from "./types.js";

/** The `backup.schedule` step that brings the backup CronJob to the spec, if any. */
export function backupScheduleSteps(desired: DesiredCluster, backup: ObservedBackup): Step[] {
  const id = `${desired.name}/backup.schedule`;
  const etcd = desired.backup.etcd;
  if (etcd === null) {
    if (!backup.present) return [];
    return [{ id, kind: "backup.schedule", state: "pending", action: "delete", schedule: null, diff: "", summary: "remove the etcd backup CronJob (backups are off in the spec)" }];
  }
  const change = backup.change;
  if (change === null || change.action === "unchanged") return [];
  const action = change.action === "update" ? "update" : "create";
  const external = externalEtcdProblem(desired);
  const summary =
    action === "create"
      ? `create the etcd backup CronJob: "${etcd.schedule}", keep ${etcd.retain}, to ${etcd.destination.hostPath}`
      : `update the etcd backup CronJob to "${etcd.schedule}", keep ${etcd.retain}, to ${etcd.destination.hostPath}`;
  return [{ id, kind: "backup.schedule", state: external ? "blocked" : "pending", ...(external ? { reason: external } : {}), action, schedule: etcd.schedule, diff: change.diff, summary }];
}

/**
 * Why bosun cannot back up this cluster's etcd: its backup Job snapshots the stacked member on a
 * control-plane node (127.0.0.1:2379 with kubeadm's etcd certificates); an external etcd is reached
 * elsewhere, with other credentials.
 */
export function externalEtcdProblem(desired: DesiredCluster): string | undefined {
  if (desired.topology.etcd.mode !== "external") return undefined;
  return "etcd is external: bosun's backups snapshot the stacked etcd member of a control-plane node; back up the external etcd where it runs and set backup.etcd.enabled: false (or beforeUpgrade: false)";
}

/** Findings about the backups: a CronJob that never succeeded, or a last success older than two scheduled runs. */
export function backupFindings(desired: DesiredCluster, backup: ObservedBackup, now: string): Finding[] {
  const etcd = desired.backup.etcd;
  if (etcd === null || !backup.present) return [];
  if (backup.lastSuccessfulTime === null) {
    return [{ kind: "backup.never-succeeded", message: "the etcd backup CronJob has no successful run yet" }];
  }
  const parsed = parseCron(etcd.schedule);
  if (!("schedule" in parsed)) return [];
  // "Older than twice its schedule interval": at least two scheduled runs passed since the last success.
  const missed = countFires(parsed.schedule, new Date(backup.lastSuccessfulTime), new Date(now), 2);
  if (missed < 2) return [];
  return [{ kind: "backup.stale", message: `the last successful etcd backup (${backup.lastSuccessfulTime}) is older than two runs of "${etcd.schedule}"` }];
}
