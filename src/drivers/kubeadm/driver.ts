/** The kubeadm driver (self-managed clusters) behind the {@link Driver} interface. */
import type { DesiredCluster } from "../../spec/types.js";
import type { Driver } from "../driver.js";
import { kubeadmUpgrader } from "./execute.js";
import { observeKubeadm } from "./observe.js";

/** The kubeadm driver for `cluster`: everything goes through the cluster's own API server. */
export function kubeadmDriver(cluster: DesiredCluster): Driver {
  return {
    name: "kubeadm",
    observe: ({ rest }) => observeKubeadm(rest),
    upgrader: ({ rest }, run) =>
      kubeadmUpgrader({ cluster: cluster.name, desired: cluster, rest, runId: run.runId, fleetDir: run.fleetDir, log: run.log, planned: run.planned }),
  };
}
