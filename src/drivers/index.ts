/**
 * The driver registry: which upgrade driver manages a cluster, decided by its `spec.provider` and nowhere
 * else. A new driver is a folder `src/drivers/<name>/` with a `driver.ts` and one `case` here; the switch is
 * exhaustive over the provider union, so a provider kind added to the spec without a driver fails the
 * typecheck.
 */
import { InternalError } from "../errors.js";
import type { DesiredCluster } from "../spec/types.js";
import { clusterAPIDriver } from "./cluster-api/driver.js";
import type { Driver } from "./driver.js";
import { kubeadmDriver } from "./kubeadm/driver.js";

export type { Driver, DriverConnections, DriverObservation, UpgradeRun } from "./driver.js";

/** The driver that observes and upgrades `cluster`. */
export function driverFor(cluster: DesiredCluster): Driver {
  const provider = cluster.provider;
  switch (provider.kind) {
    case "kubeadm": return kubeadmDriver(cluster);
    case "clusterAPI": return clusterAPIDriver(cluster, provider);
    default: return noDriver(provider);
  }
}

/** Reached only if the spec let through a provider the union does not name (a bug in bosun). */
function noDriver(provider: never): never {
  throw new InternalError(`no upgrade driver for provider ${JSON.stringify(provider)}`);
}
