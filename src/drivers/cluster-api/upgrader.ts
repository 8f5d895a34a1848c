/**
 * The Cluster API driver behind the executor's {@link Upgrader} interface: version and replica steps go to
 * `executeClusterAPIStep` (patches in the management cluster, waits for the rollout); the pre-upgrade etcd
 * snapshot runs in the workload cluster, whose control-plane nodes hold etcd.
 */
import { snapshotStep } from "../../backup/snapshot.js";
import type { KubeRest } from "../../kube/rest.js";
import type { DesiredCluster } from "../../spec/types.js";
import type { Upgrader } from "../upgrader.js";
import { executeClusterAPIStep } from "./execute.js";
import { observeClusterAPI } from "./observe.js";

/** What {@link clusterAPIUpgrader} needs. */
export interface ClusterAPIUpgraderOptions {
  cluster: string;
  desired: DesiredCluster;
  provider: { context: string; namespace: string; name: string };
  management: KubeRest;
  workload: KubeRest;
  runId: string;
  log: (line: string) => void;
  /** How long one step may take. */
  timeoutMs?: number;
}

/** The Cluster API driver for one cluster. */
export function clusterAPIUpgrader(options: ClusterAPIUpgraderOptions): Upgrader {
  const { cluster, management, workload, provider } = options;
  return {
    preflight: async () => {
      const observed = await observeClusterAPI(management, workload, { namespace: provider.namespace, name: provider.name });
      if ("invalid" in observed) return observed.invalid;
      const kcp = observed.controlPlane;
      if (kcp.replicas !== kcp.readyReplicas || kcp.replicas !== kcp.updatedReplicas) {
        return `KubeadmControlPlane ${kcp.name} is still rolling out (${kcp.readyReplicas}/${kcp.replicas} ready, ${kcp.updatedReplicas} updated)`;
      }
      const rolling = observed.machineDeployments.filter((md) => md.replicas !== md.readyReplicas || md.replicas !== md.updatedReplicas);
      if (rolling.length > 0) return `MachineDeployment${rolling.length === 1 ? "" : "s"} ${rolling.map((md) => md.name).join(", ")} still rolling out`;
      const notReady = observed.nodes.filter((n) => !n.ready).map((n) => n.name);
      if (notReady.length > 0) return `node${notReady.length === 1 ? "" : "s"} ${notReady.join(", ")} not Ready`;
      return undefined;
    },
    run: async (step, session) => {
      if (step.kind === "backup.snapshot") {
        return snapshotStep(workload, step, { cluster, backup: options.desired.backup.etcd, runId: options.runId, timeoutMs: options.timeoutMs ?? 15 * 60_000, signal: session.signal });
      }
      return executeClusterAPIStep(
        { cluster, provider, management, workload, timeoutMs: options.timeoutMs ?? 30 * 60_000, signal: session.signal, log: options.log },
        step,
      );
    },
    versions: async () => {
      const observed = await observeClusterAPI(management, workload, { namespace: provider.namespace, name: provider.name });
      if ("invalid" in observed) return "unknown";
      const kcp = observed.controlPlane;
      const mds = observed.machineDeployments.map((md) => `${md.name} ${md.version}`).join(", ");
      return `control plane ${kcp.version} (${kcp.replicas} replica${kcp.replicas === 1 ? "" : "s"})${mds ? `, ${mds}` : ""}`;
    },
  };
}
