/**
 * The etcd backup objects bosun applies to a kubeadm cluster (DESIGN section 5): a CronJob
 * `kube-system/bosun-etcd-backup` that snapshots the stacked etcd member of a control-plane node on the
 * spec's schedule, and a one-off Job from the same pod template for the verified pre-upgrade snapshot.
 *
 * Pure and deterministic: no clock, no randomness. The timestamp in a snapshot's file name is taken by the
 * pod when it runs.
 *
 * How the pod reaches etcd: kubeadm's stacked etcd listens for clients on `https://127.0.0.1:2379` (and
 * the node's address) and requires client certificates signed by its own CA. The pod therefore runs on a
 * control-plane node (node selector and toleration for kubeadm's control-plane taint) in the host network
 * namespace, and mounts the node's `/etc/kubernetes/pki/etcd` read-only for the CA and the
 * `healthcheck-client` pair — the client certificate kubeadm itself uses for its own etcd client
 * (`kubeadm upgrade`, member management). The keys are `0600 root`, so the container runs as root.
 *
 * Where snapshots go: `destination.hostPath` on the node the pod ran on. In an HA cluster the scheduler may
 * pick a different control-plane node each run, so each node holds the snapshots taken there and `retain`
 * applies per node; a destination shared between the nodes (an NFS mount at the same path) holds one
 * series.
 */
import { CLUSTER_ANNOTATION, COMPONENT_LABEL, MANAGED_BY_BOSUN, SNAPSHOT_LABEL } from "../constants.js";
import { InternalError } from "../errors.js";
import type { KubeObject } from "../kube/rest.js";
import type { EtcdBackup } from "../spec/types.js";

/** The backup CronJob's place. */
export const ETCD_BACKUP_CRONJOB = { namespace: "kube-system", name: "bosun-etcd-backup" } as const;

/** Labels on every backup object and pod. */
export const ETCD_BACKUP_LABELS: Readonly<Record<string, string>> = {
  ...MANAGED_BY_BOSUN,
  [COMPONENT_LABEL]: "etcd-backup",
};

/** The value of {@link SNAPSHOT_LABEL}. */
export const SNAPSHOT_LABEL_VALUE = "pre-upgrade";


/** kubeadm's etcd PKI directory on a control-plane node (`certificatesDir` + `/etcd`). */
export const ETCD_PKI_DIR = "/etc/kubernetes/pki/etcd";

/** Where the destination is mounted in the container (fixed, so no destination can shadow a tool or the PKI). */
export const BACKUP_MOUNT_PATH = "/backup";

/** Where the shell is installed in the pod when it comes from {@link BackupImages.busybox}. */
const TOOLS_DIR = "/bosun/bin";

/**
 * The images the backup pod runs.
 *
 * Why two: the script needs a POSIX shell with `date`, `mkdir`, `mv`, `rm`, `find` and `sleep`, plus `etcdctl`
 * and `etcdutl` — and no official image has all of them. The etcd images (`registry.k8s.io/etcd`, the
 * image kubeadm runs, and `gcr.io/etcd-development/etcd`) are distroless since etcd 3.5.21: they hold
 * `/usr/local/bin/etcd`, `etcdctl` and `etcdutl` and nothing else, not even a shell. So by default an init
 * container copies the statically linked busybox of the official busybox image into a shared `emptyDir`,
 * and the backup container runs the etcd image with that shell. When its tag matches the cluster's etcd,
 * the node has the image cached already.
 *
 * Set `busybox` to null to run one image that has everything itself (a shell with those utilities and
 * both etcd tools on its PATH); its `/bin/sh` runs the script.
 */
export interface BackupImages {
  /** Image with `etcdctl` and `etcdutl` in `/usr/local/bin` (or, with `busybox: null`, everything). */
  etcd: string;
  /** Official busybox image (statically linked: the `-musl` variants are), or null. */
  busybox: string | null;
}

/**
 * Default images. etcdctl and etcdutl 3.6 work against etcd 3.5 and 3.6 members alike (a snapshot is the
 * v3 Maintenance API; the file format did not change), which covers every Kubernetes minor bosun plans for.
 */
export const DEFAULT_BACKUP_IMAGES: Readonly<BackupImages> = {
  etcd: "registry.k8s.io/etcd:3.6.5-0",
  busybox: "busybox:1.37.0-musl",
};

/** File names the script writes and prunes: `etcd-snapshot-<UTC yyyymmddThhmmssZ>.db`. */
export const SNAPSHOT_PATTERN = /^etcd-snapshot-\d{8}T\d{6}Z\.db$/;

// A run that takes longer than this is killed and counts as failed; snapshots of the largest etcd
// databases (8 GiB quota) stream in a few minutes.
const ACTIVE_DEADLINE_SECONDS = 1800;
const BACKOFF_LIMIT = 2;

/** How the backup script reaches etcd. */
export interface EtcdClientOptions {
  /** The one member to snapshot, `https://host:port` (or `http://` for an etcd without TLS). */
  endpoint: string;
  /** CA certificate file the member's serving certificate is verified against. */
  caFile: string;
  /** Client certificate and key files presented to the member. */
  certFile: string;
  keyFile: string;
}

/**
 * What the pod uses: kubeadm's stacked member on the node, with kubeadm's own etcd client certificate
 * (the mount of {@link ETCD_PKI_DIR}).
 */
export const DEFAULT_ETCD_CLIENT: Readonly<EtcdClientOptions> = {
  endpoint: "https://127.0.0.1:2379",
  caFile: `${ETCD_PKI_DIR}/ca.crt`,
  certFile: `${ETCD_PKI_DIR}/healthcheck-client.crt`,
  keyFile: `${ETCD_PKI_DIR}/healthcheck-client.key`,
};

/**
 * The shell script a backup pod runs (POSIX sh; busybox, dash and bash run it alike): check that the
 * local etcd member answers (so a member that is down fails the run in seconds, not at the deadline),
 * claim a snapshot name no other run holds, save a snapshot under its temporary name, verify it (on
 * failure delete it and exit 1), give it its final name, then delete the oldest snapshots beyond
 * `retain`. Only verified snapshots ever carry the final name, so pruning never counts a broken file and
 * never keeps one in place of a good one. Temporary files of runs that died more than an hour ago are
 * removed first.
 *
 * Verification restores the snapshot into a scratch directory beside it (deleted right after; it needs
 * the snapshot's size again in free space, briefly): `etcdutl snapshot restore` checks the sha256 etcd
 * appends to every snapshot, so any damaged byte fails it. `etcdutl snapshot status`, run after it for the
 * revision and key count in the log, only checks bbolt's page structure and passes most files with a
 * flipped byte (test/integration/backup-script.test.ts shows both).
 *
 * Names go by the second, and two runs may start in the same one (the pre-upgrade Job beside a CronJob
 * run, nodes sharing a destination, or runs quicker than a second): a run holds its name's `.tmp` file
 * from an exclusive create until the rename turns it into the `.db`, and moves on to the next second when
 * it finds either taken, so no run overwrites another's snapshot. Pruning deletes from one listing, so two
 * runs pruning at once never delete more than the oldest beyond `retain`.
 *
 * `dir` is the snapshot directory as the container sees it; `client` says how to reach the member (the
 * pod's defaults; the integration test points the script at an etcd of its own).
 */
export function etcdBackupScript(retain: number, dir: string, client: Partial<EtcdClientOptions> = {}): string {
  if (!Number.isSafeInteger(retain) || retain < 1) throw new InternalError(`etcd backup retain must be a positive integer, got ${retain}`);
  if (!dir.startsWith("/")) throw new InternalError(`etcd backup directory must be absolute, got ${JSON.stringify(dir)}`);
  const { endpoint, caFile, certFile, keyFile } = { ...DEFAULT_ETCD_CLIENT, ...client };
  // The endpoint also appears inside a double-quoted message, so only plain URL characters are allowed.
  if (!/^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(endpoint)) throw new InternalError(`etcd endpoint must be http(s)://host:port, got ${JSON.stringify(endpoint)}`);
  for (const file of [caFile, certFile, keyFile]) {
    if (!file.startsWith("/")) throw new InternalError(`etcd client file must be absolute, got ${JSON.stringify(file)}`);
  }
  return `set -eu
# C collation: the shell then sorts snapshot names, and so their UTC timestamps, oldest first.
LC_ALL=C
export LC_ALL
dir=${shellQuote(dir)}
retain=${retain}

mkdir -p "$dir"
# Leftovers of runs that died: temporary snapshots and verification directories.
find "$dir" -maxdepth 1 -name 'etcd-snapshot-*.tmp*' -mmin +60 -exec rm -rf {} +

etcd_client() {
  etcdctl --endpoints=${endpoint} \\
    --cacert=${shellWord(caFile)} \\
    --cert=${shellWord(certFile)} \\
    --key=${shellWord(keyFile)} \\
    "$@"
}

# Fail fast (etcdctl's default 5 s command timeout) when the local member is down: the snapshot itself
# waits for a connection until its own, much longer, timeout.
if ! etcd_client endpoint health; then
  echo "the etcd member at ${endpoint} is not healthy; no snapshot taken" >&2
  exit 1
fi

partial=
restore=
cleanup() {
  if [ -n "$restore" ]; then rm -rf "$restore"; fi
  if [ -n "$partial" ]; then rm -f "$partial" "$partial.part"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# Claim a name: this run holds etcd-snapshot-<second>.db.tmp from its exclusive creation (noclobber) until
# it renames it to the .db, which replaces the one by the other at once. Another run of the same second
# finds one of the two and tries the next second.
attempt=0
while :; do
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  snapshot="$dir/etcd-snapshot-$stamp.db"
  if (set -C; : >"$snapshot.tmp") 2>/dev/null; then
    partial="$snapshot.tmp"
    if [ ! -e "$snapshot" ]; then break; fi
    rm -f "$partial"
    partial=
  fi
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 10 ]; then
    echo "found no free snapshot name in $dir in $attempt seconds" >&2
    exit 1
  fi
  sleep 1
done
restore="$partial.restore"

echo "saving an etcd snapshot to $snapshot"
if ! etcd_client --command-timeout=${ACTIVE_DEADLINE_SECONDS}s snapshot save "$partial"; then
  rm -f "$partial" "$partial.part"
  echo "etcdctl snapshot save failed" >&2
  exit 1
fi
# The restore checks the sha256 etcd appended to the snapshot; its log is shown only when it fails.
if ! log="$(etcdutl snapshot restore "$partial" --data-dir="$restore" 2>&1)"; then
  printf '%s\\n' "$log" >&2
  rm -rf "$restore" "$partial"
  echo "the snapshot failed verification (etcdutl snapshot restore) and was deleted" >&2
  exit 1
fi
rm -rf "$restore"
if ! etcdutl snapshot status "$partial" --write-out=table; then
  rm -f "$partial"
  echo "the snapshot failed verification (etcdutl snapshot status) and was deleted" >&2
  exit 1
fi
mv "$partial" "$snapshot"
partial=
echo "saved and verified $snapshot"
# The pre-upgrade Job asks for the file name in its termination message, where bosun reads it.
if [ -n "\${SNAPSHOT_REPORT:-}" ]; then printf '%s' "$snapshot" >"$SNAPSHOT_REPORT" || true; fi

# Prune from one listing of the verified snapshots, oldest first.
set --
for f in "$dir"/etcd-snapshot-*.db; do
  if [ -f "$f" ]; then set -- "$@" "$f"; fi
done
excess=$(($# - retain))
for f in "$@"; do
  if [ "$excess" -le 0 ]; then break; fi
  rm -f "$f"
  echo "pruned $f"
  excess=$((excess - 1))
done
`;
}

/** The pod template shared by the CronJob and the one-off Job. */
export function etcdBackupPodTemplate(cluster: string, backup: EtcdBackup, images: BackupImages = DEFAULT_BACKUP_IMAGES): Record<string, unknown> {
  const script = etcdBackupScript(backup.retain, BACKUP_MOUNT_PATH);
  const volumes: Record<string, unknown>[] = [
    { name: "etcd-certs", hostPath: { path: ETCD_PKI_DIR, type: "Directory" } },
    { name: "backup", hostPath: { path: backup.destination.hostPath, type: "DirectoryOrCreate" } },
  ];
  const mounts: Record<string, unknown>[] = [
    { name: "etcd-certs", mountPath: ETCD_PKI_DIR, readOnly: true },
    { name: "backup", mountPath: BACKUP_MOUNT_PATH },
  ];
  const withBusybox = images.busybox !== null;
  if (withBusybox) {
    volumes.push({ name: "tools", emptyDir: {} });
    mounts.push({ name: "tools", mountPath: TOOLS_DIR, readOnly: true });
  }
  const container: Record<string, unknown> = {
    name: "etcd-backup",
    image: images.etcd,
    command: withBusybox ? [`${TOOLS_DIR}/sh`, "-c", script] : ["/bin/sh", "-c", script],
    // The etcd image's tools first, then busybox's applets.
    ...(withBusybox ? { env: [{ name: "PATH", value: `/usr/local/bin:${TOOLS_DIR}` }] } : {}),
    resources: { requests: { cpu: "100m", memory: "128Mi" } },
    securityContext: { runAsUser: 0, runAsGroup: 0, allowPrivilegeEscalation: false },
    volumeMounts: mounts,
  };
  const initContainers = images.busybox === null ? [] : [
    {
      name: "install-shell",
      image: images.busybox,
      // `--install -s` links every applet to the copy, so the links resolve in the etcd container too.
      command: ["/bin/sh", "-c", `cp /bin/busybox ${TOOLS_DIR}/busybox && ${TOOLS_DIR}/busybox --install -s ${TOOLS_DIR}`],
      securityContext: { allowPrivilegeEscalation: false },
      volumeMounts: [{ name: "tools", mountPath: TOOLS_DIR }],
    },
  ];
  const spec: Record<string, unknown> = {
    restartPolicy: "Never",
    hostNetwork: true,
    priorityClassName: "system-cluster-critical",
    automountServiceAccountToken: false,
    nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
    tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
    ...(initContainers.length > 0 ? { initContainers } : {}),
    containers: [container],
    volumes,
  };
  return {
    metadata: { labels: { ...ETCD_BACKUP_LABELS }, annotations: { [CLUSTER_ANNOTATION]: cluster } },
    spec,
  };
}

/**
 * The backup CronJob `kube-system/bosun-etcd-backup`. Runs never overlap (`Forbid`); the schedule is
 * evaluated in UTC, explicitly, as the planner's freshness check assumes.
 */
export function etcdBackupCronJob(cluster: string, backup: EtcdBackup, images: BackupImages = DEFAULT_BACKUP_IMAGES): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: ETCD_BACKUP_CRONJOB.name,
      namespace: ETCD_BACKUP_CRONJOB.namespace,
      labels: { ...ETCD_BACKUP_LABELS },
      annotations: { [CLUSTER_ANNOTATION]: cluster },
    },
    spec: {
      schedule: backup.schedule,
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      // Stated although it is the default: bosun then owns the field, so a CronJob suspended by hand shows
      // as drift (a server-side dry-run keeps fields bosun does not own as they are).
      suspend: false,
      // A run that could not start within an hour of its time is skipped rather than started late; this
      // also keeps the controller from giving up on a CronJob after 100 missed runs.
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: { ...ETCD_BACKUP_LABELS } },
        spec: jobSpec(cluster, backup, images),
      },
    },
  };
}

/**
 * A one-off snapshot Job `kube-system/<name>` from the same pod template, for the pre-upgrade snapshot.
 * `name` must be a DNS-1123 label (a Job's name becomes a label value on its pods); the caller derives it
 * from the plan step so that re-running the step finds the same Job.
 */
export function etcdSnapshotJob(cluster: string, backup: EtcdBackup, name: string, images: BackupImages = DEFAULT_BACKUP_IMAGES): KubeObject {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) throw new InternalError(`etcd snapshot Job name ${JSON.stringify(name)} is not a DNS-1123 label`);
  const spec = jobSpec(cluster, backup, images);
  const template = spec.template as { metadata: { labels: Record<string, string> }; spec: { containers: Record<string, unknown>[] } };
  template.metadata.labels = { ...template.metadata.labels, [SNAPSHOT_LABEL]: SNAPSHOT_LABEL_VALUE };
  for (const container of template.spec.containers) {
    // The script writes the verified snapshot's path there; the kubelet reports it as the termination message.
    container.env = [...((container.env as unknown[] | undefined) ?? []), { name: "SNAPSHOT_REPORT", value: "/dev/termination-log" }];
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: ETCD_BACKUP_CRONJOB.namespace,
      labels: { ...ETCD_BACKUP_LABELS, [SNAPSHOT_LABEL]: SNAPSHOT_LABEL_VALUE },
      annotations: { [CLUSTER_ANNOTATION]: cluster },
    },
    spec: {
      ...spec,
      // Kept a day after it finished, for people to read its log; the journal records the outcome.
      ttlSecondsAfterFinished: 86_400,
    },
  };
}

function jobSpec(cluster: string, backup: EtcdBackup, images: BackupImages): Record<string, unknown> {
  return {
    backoffLimit: BACKOFF_LIMIT,
    activeDeadlineSeconds: ACTIVE_DEADLINE_SECONDS,
    template: etcdBackupPodTemplate(cluster, backup, images),
  };
}

/** `text` as one shell word: as it is when it holds only characters no shell treats specially, else quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : shellQuote(text);
}

/** Quotes `text` as one word for a POSIX shell. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
