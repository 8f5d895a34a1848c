/**
 * The privileged Job that upgrades Kubernetes on one node of a kubeadm cluster (DESIGN section 4). Pure:
 * the Job object and its script, from the node, the phase and the version.
 *
 * Two phases, as the ladder's contract with the drivers says (`src/plan/ladder.ts`):
 * - `control-plane`: on a control-plane node, upgrade the kubeadm package and run `kubeadm upgrade apply`
 *   (the first control-plane node of the version: it upgrades the cluster's configuration and the addons)
 *   or `kubeadm upgrade node` (every other one). kubeadm replaces the node's static pods; the kubelet stays.
 * - `kubelet`: on a drained node, upgrade the kubelet (and kubectl) package and restart the kubelet. On a
 *   worker, kubeadm is upgraded and `kubeadm upgrade node` refreshes the kubelet configuration first.
 *
 * How the pod reaches the host: it is pinned to the node (`nodeName`, no scheduler, every taint
 * tolerated — the node is cordoned), runs privileged in the host's PID and network namespaces with the
 * host's root filesystem at `/host`, and runs the script under `chroot /host`, so apt, yum, systemctl and
 * kubeadm are the node's own. The script reads everything it needs from environment variables, so a
 * replacement script (the spec's `provider.kubeadm` override) gets the same inputs.
 */
import { createHash } from "node:crypto";
import { CLUSTER_ANNOTATION, MANAGED_BY_BOSUN, NODE_UPGRADE_LABEL, TARGET_VERSION_LABEL, UPGRADE_PHASE_LABEL } from "../../constants.js";
import type { KubeObject } from "../../kube/rest.js";

/** Where upgrade Jobs run. */
export const UPGRADE_NAMESPACE = "kube-system";

/** What one Job upgrades. */
export type UpgradePhase = "control-plane" | "kubelet";

/** The node's package manager (the spec's `provider.kubeadm.packageManager`). */
export type PackageManager = "apt" | "dnf" | "yum";

/** Everything one upgrade Job depends on. */
export interface UpgradeJobInput {
  /** The fleet cluster, recorded on the Job. */
  cluster: string;
  node: string;
  role: "control-plane" | "worker";
  phase: UpgradePhase;
  /** Target version without `v`. */
  version: string;
  /** `apply` on the first control-plane node of a version, `node` everywhere else. */
  kubeadm: "apply" | "node";
  packageManager: PackageManager;
  /** The image the pod runs; it only needs `chroot` and `sh`. */
  image?: string;
  /** How long the Job may run before Kubernetes stops it. */
  deadlineSeconds?: number;
}

/** The default image of upgrade pods: busybox has `chroot`; everything else is the host's. */
export const DEFAULT_UPGRADE_IMAGE = "busybox:1.37.0-musl";
/** Default time an upgrade Job may run: package downloads and `kubeadm upgrade apply` take minutes. */
export const DEFAULT_UPGRADE_DEADLINE_SECONDS = 1800;

/**
 * The Job's name: `bosun-upgrade-<node>-<cp|kubelet>-<version>`, made a valid name (at most 63 characters,
 * so the `job-name` label of its pods is valid too) with a hash when the node name is long. The same input
 * always gives the same name, which is how a resumed run finds the Job of an interrupted one.
 */
export function upgradeJobName(node: string, phase: UpgradePhase, version: string): string {
  const suffix = `-${phase === "control-plane" ? "cp" : "kubelet"}-v${version.replace(/[^0-9a-z]+/gi, "-").toLowerCase()}`;
  const base = `bosun-upgrade-${node.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`;
  if (base.length + suffix.length <= 63) return `${base}${suffix}`;
  const hash = createHash("sha256").update(node).digest("hex").slice(0, 8);
  return `${base.slice(0, 63 - suffix.length - 9).replace(/-+$/, "")}-${hash}${suffix}`;
}

/**
 * The upgrade script for a package manager. Inputs (environment): `BOSUN_VERSION` (1.35.4),
 * `BOSUN_MINOR` (1.35), `BOSUN_PHASE`, `BOSUN_ROLE`, `BOSUN_KUBEADM` (`apply` or `node`). The
 * pkgs.k8s.io repositories are per minor, so the repository definition is pointed at the target minor
 * first (a no-op when it already is).
 */
export function upgradeScript(packageManager: PackageManager): string {
  const install =
    packageManager === "apt"
      ? {
          repo: `if [ -f /etc/apt/sources.list.d/kubernetes.list ]; then
  sed -i "s#/v[0-9][0-9.]*/deb/#/v$BOSUN_MINOR/deb/#" /etc/apt/sources.list.d/kubernetes.list
fi
apt-get update -q`,
          pkg: `install_pkgs() {
  apt-mark unhold "$@" >/dev/null || true
  set -- $(for p in "$@"; do printf '%s=%s-* ' "$p" "$BOSUN_VERSION"; done)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-change-held-packages \\
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
  apt-mark hold $(for p in "$@"; do printf '%s ' "\${p%%=*}"; done) >/dev/null
}`,
        }
      : {
          repo: `if [ -f /etc/yum.repos.d/kubernetes.repo ]; then
  sed -i "s#/v[0-9][0-9.]*/rpm/#/v$BOSUN_MINOR/rpm/#" /etc/yum.repos.d/kubernetes.repo
fi
# The repository's URL may just have changed: drop metadata cached for the old one.
${packageManager} clean expire-cache -q || true`,
          pkg: `install_pkgs() {
  ${packageManager} install -y $(for p in "$@"; do printf '%s-%s ' "$p" "$BOSUN_VERSION"; done) --disableexcludes=kubernetes
}`,
        };
  // -f (no globbing) matters: the package patterns below (`kubeadm=1.35.4-*`) must reach apt as they are,
  // never expanded against the files of the working directory.
  return `set -euf
echo "bosun: $BOSUN_PHASE upgrade of $(hostname) to v$BOSUN_VERSION"
${install.repo}
${install.pkg}
if [ "$BOSUN_PHASE" = control-plane ]; then
  install_pkgs kubeadm
  if [ "$BOSUN_KUBEADM" = apply ]; then
    kubeadm upgrade apply -y "v$BOSUN_VERSION"
  else
    kubeadm upgrade node
  fi
else
  if [ "$BOSUN_ROLE" = worker ]; then
    install_pkgs kubeadm
    kubeadm upgrade node
  fi
  install_pkgs kubelet kubectl
  systemctl daemon-reload
  systemctl restart kubelet
fi
echo "bosun: done"
`;
}

/** The upgrade Job for one node and phase. */
export function upgradeJob(input: UpgradeJobInput, script: string = upgradeScript(input.packageManager)): KubeObject {
  const name = upgradeJobName(input.node, input.phase, input.version);
  const labels = {
    ...MANAGED_BY_BOSUN,
    [NODE_UPGRADE_LABEL]: input.node,
    [TARGET_VERSION_LABEL]: `v${input.version}`,
    [UPGRADE_PHASE_LABEL]: input.phase,
  };
  const minor = input.version.split(".").slice(0, 2).join(".");
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: UPGRADE_NAMESPACE, labels, annotations: { [CLUSTER_ANNOTATION]: input.cluster } },
    spec: {
      // One attempt: a failed upgrade needs a person to look, not a retry on a half-upgraded node.
      backoffLimit: 0,
      activeDeadlineSeconds: input.deadlineSeconds ?? DEFAULT_UPGRADE_DEADLINE_SECONDS,
      // Kept a week for its log; the next run of the same node and version replaces a failed one.
      ttlSecondsAfterFinished: 7 * 86_400,
      template: {
        metadata: { labels },
        spec: {
          nodeName: input.node,
          restartPolicy: "Never",
          hostPID: true,
          hostNetwork: true,
          priorityClassName: "system-node-critical",
          automountServiceAccountToken: false,
          tolerations: [{ operator: "Exists" }],
          containers: [
            {
              name: "upgrade",
              image: input.image ?? DEFAULT_UPGRADE_IMAGE,
              command: ["chroot", "/host", "/bin/sh", "-c", script],
              env: [
                { name: "BOSUN_VERSION", value: input.version },
                { name: "BOSUN_MINOR", value: minor },
                { name: "BOSUN_PHASE", value: input.phase },
                { name: "BOSUN_ROLE", value: input.role },
                { name: "BOSUN_KUBEADM", value: input.kubeadm },
              ],
              securityContext: { privileged: true },
              volumeMounts: [{ name: "host", mountPath: "/host" }],
            },
          ],
          volumes: [{ name: "host", hostPath: { path: "/", type: "Directory" } }],
        },
      },
    },
  };
}
