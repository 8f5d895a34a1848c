/**
 * What every upgrade driver offers the rest of bosun (DESIGN section 4, STYLE 8: a folder per driver behind
 * one narrow interface): how to observe its kind of cluster for the planner, and the {@link Upgrader} the
 * executor runs steps through. `src/drivers/index.ts` picks the driver for a cluster's provider; the
 * observer (`src/observe/fleet.ts`) and the executor (`src/apply/run.ts`) never name a driver themselves.
 */
import type { KubeRest } from "../kube/rest.js";
import type { VersionRange } from "../plan/types.js";
import type { ObservedReachable } from "../plan/observed.js";
import type { Upgrader } from "./upgrader.js";

/** The connections a driver works through; the caller opens and closes them. */
export interface DriverConnections {
  /** The cluster's own API server. */
  rest: KubeRest;
  /**
   * Opens a connection to `context` of the run's default kubeconfig, for a driver that manages the cluster
   * through another one (Cluster API's management cluster). Throws an `InvalidInputError` for an unknown
   * context; the caller closes what it opened.
   */
  connect: (context: string) => KubeRest;
}

/** What an upgrader is told about the run it belongs to. */
export interface UpgradeRun {
  runId: string;
  /** The fleet directory (files the spec names, such as a kubeadm upgrade script). */
  fleetDir: string;
  log: (line: string) => void;
  /** The versions the plan was computed from (a preflight checks they still hold). */
  planned: { controlPlane?: VersionRange; workers?: VersionRange };
}

/** The driver's view of a reachable cluster, or why the cluster is not one the driver can manage. */
export type DriverObservation = ObservedReachable["driver"] | { invalid: string };

/** One cluster's upgrade driver. */
export interface Driver {
  /** The driver's folder name under `src/drivers/`. */
  readonly name: string;
  /** Observes the cluster with a fixed number of requests (ARCHITECTURE: bounded reads). */
  observe(connections: DriverConnections): Promise<DriverObservation>;
  /** The upgrader that carries out the cluster's version and topology steps. */
  upgrader(connections: DriverConnections, run: UpgradeRun): Upgrader;
}
