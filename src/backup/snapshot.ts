/**
 * The verified etcd snapshot taken before a control plane moves (DESIGN sections 4 and 5): a one-off Job
 * from the backup template, which must succeed before any control-plane step starts. Its pod saves,
 * verifies (a full restore into a scratch directory) and names the snapshot, and reports the file in its
 * termination message; bosun records that in the journal and the output.
 */
import { createHash } from "node:crypto";
import { GROUPS, identity } from "../identity.js";
import { BosunError } from "../errors.js";
import { createJob, waitForJob } from "../kube/jobs.js";
import type { KubeRest } from "../kube/rest.js";
import type { RetryOptions } from "../kube/retry.js";
import type { EtcdBackup } from "../spec/types.js";
import { ETCD_BACKUP_CRONJOB, etcdSnapshotJob } from "./template.js";

/** A snapshot that was taken and verified. */
export interface TakenSnapshot {
  job: string;
  /** The control-plane node whose destination holds it. */
  node: string | null;
  /** The snapshot's path inside the destination, as the pod reported it; null when it did not say. */
  file: string | null;
}

/** Inputs of {@link takeSnapshot}. */
export interface SnapshotOptions extends RetryOptions {
  cluster: string;
  backup: EtcdBackup;
  /** Names the Job: the same key (a run and a version) finds the same Job again after a retry. */
  key: string;
  timeoutMs: number;
}

/** The snapshot Job's name for a key: `bosun-etcd-snapshot-<hash>`, short and stable. */
export function snapshotJobName(key: string): string {
  return `bosun-etcd-snapshot-${createHash("sha256").update(key).digest("hex").slice(0, 10)}`;
}

/** Runs the pre-upgrade snapshot Job and waits for it; throws when it fails, naming where to look. */
export async function takeSnapshot(rest: KubeRest, options: SnapshotOptions): Promise<TakenSnapshot> {
  const name = snapshotJobName(options.key);
  const { namespace } = ETCD_BACKUP_CRONJOB;
  await createJob(rest, etcdSnapshotJob(options.cluster, options.backup, name), options);
  const outcome = await waitForJob(rest, namespace, name, options);
  if (outcome.kind === "failed") {
    const where = outcome.pod?.node ? ` on node ${outcome.pod.node}` : "";
    const said = outcome.pod?.message ?? outcome.pod?.failure;
    throw new BosunError(
      `the pre-upgrade etcd snapshot failed${where} (${outcome.reason}${said ? `; ${said}` : ""}); no control-plane step was started. ` +
        `See \`kubectl -n ${namespace} logs job/${name}\`, fix the cause and run bosun apply again`,
      { reason: "ApplyFailed", phase: "snapshot", identity: identity({ cluster: options.cluster, group: GROUPS.batch, kind: "Job", namespace, name }) },
    );
  }
  const file = outcome.pod?.message ?? null;
  return { job: name, node: outcome.pod?.node ?? null, file: file && /^\/[\w./-]+$/.test(file) ? file : null };
}

/**
 * The `backup.snapshot` step as every driver runs it, in the cluster whose control-plane nodes hold etcd:
 * the Job keyed by the run and the step (a retry finds the same Job), and one line naming the file, the
 * node and the Job, for the output and the journal.
 */
export async function snapshotStep(
  rest: KubeRest,
  step: { id: string },
  options: RetryOptions & { cluster: string; backup: EtcdBackup | null; runId: string; timeoutMs: number },
): Promise<string> {
  const { backup, runId, ...jobOptions } = options;
  if (!backup) throw new BosunError(`${step.id}: the spec has no backup.etcd any more; plan again`, { reason: "ApplyFailed" });
  const taken = await takeSnapshot(rest, { ...jobOptions, backup, key: `${runId}/${step.id}` });
  return `etcd snapshot saved and verified: ${taken.file ?? `a new file in ${backup.destination.hostPath}`}${taken.node ? ` on node ${taken.node}` : ""} (Job ${taken.job})`;
}
