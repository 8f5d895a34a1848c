/** The Cluster API driver behind the {@link Driver} interface. */
import type { DesiredCluster, Provider } from "../../spec/types.js";
import type { Driver } from "../driver.js";
import { observeClusterAPI } from "./observe.js";
import { clusterAPIUpgrader } from "./upgrader.js";

/**
 * The Cluster API driver for `cluster`: the Cluster, its KubeadmControlPlane and MachineDeployments are read
 * and patched in the management cluster (`provider.context`), the Nodes are read in the cluster itself.
 */
export function clusterAPIDriver(cluster: DesiredCluster, provider: Extract<Provider, { kind: "clusterAPI" }>): Driver {
  return {
    name: "cluster-api",
    observe: ({ rest, connect }) => observeClusterAPI(connect(provider.context), rest, { namespace: provider.namespace, name: provider.name }),
    upgrader: ({ rest, connect }, run) =>
      clusterAPIUpgrader({ cluster: cluster.name, desired: cluster, provider, management: connect(provider.context), workload: rest, runId: run.runId, log: run.log }),
  };
}
