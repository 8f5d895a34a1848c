/**
 * The driver registry: every provider kind the spec accepts maps to its driver, and the driver observes and
 * upgrades through the connections it is given (the Cluster API driver through the management cluster it
 * names, the kubeadm driver through the cluster itself). The fakes answer the two reads the observers make.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { driverFor, type DriverConnections } from "../../../src/drivers/index.js";
import type { KubeRest } from "../../../src/kube/rest.js";
import { loadFleet } from "../../../src/spec/load.js";
import type { DesiredCluster, DesiredFleet, Provider } from "../../../src/spec/types.js";

const REPO = path.resolve(import.meta.dirname, "../../..");

let fleet: DesiredFleet;
beforeAll(async () => {
  const loaded = await loadFleet(path.join(REPO, "fleet-example"));
  if (!loaded.ok) throw new Error("fleet-example does not load");
  fleet = loaded.value;
});

function clusterWith(kind: Provider["kind"]): DesiredCluster {
  const cluster = fleet.clusters.find((c) => c.provider.kind === kind);
  if (!cluster) throw new Error(`fleet-example has no ${kind} cluster`);
  return cluster;
}

/** A connection that finds nothing: every GET is a 404, every LIST empty, no kind is served. */
function emptyCluster(name: string): KubeRest {
  const fake: Pick<KubeRest, "cluster" | "get" | "list" | "resource"> = {
    cluster: name,
    get: () => Promise.resolve(null),
    list: () => Promise.resolve([]),
    resource: () => Promise.resolve(undefined),
  };
  return fake as KubeRest;
}

/** Connections whose `connect` records the contexts a driver asked for. */
function connections(cluster: string): DriverConnections & { connected: string[] } {
  const connected: string[] = [];
  return {
    rest: emptyCluster(cluster),
    connect: (context) => {
      connected.push(context);
      return emptyCluster(`${cluster} (management cluster ${context})`);
    },
    connected,
  };
}

const RUN = { runId: "run-1", fleetDir: REPO, log: () => undefined, planned: {} };

/** The driver of each provider kind; a `Record` over the union, so a new kind must be added here to typecheck. */
const DRIVER_OF: Record<Provider["kind"], string> = { kubeadm: "kubeadm", clusterAPI: "cluster-api" };

describe("driverFor", () => {
  it.each(Object.entries(DRIVER_OF))("maps provider %s to the %s driver", (kind, name) => {
    expect(driverFor(clusterWith(kind as Provider["kind"])).name).toBe(name);
  });

  it("knows every provider the cluster schema accepts", async () => {
    const schema = JSON.parse(await fs.readFile(path.join(REPO, "schemas/cluster.schema.json"), "utf8")) as {
      definitions: { Provider: { properties: Record<string, unknown> } };
    };
    expect(Object.keys(schema.definitions.Provider.properties).sort()).toEqual(Object.keys(DRIVER_OF).sort());
  });

  it("observes a kubeadm cluster through the cluster itself", async () => {
    const cluster = clusterWith("kubeadm");
    const conn = connections(cluster.name);
    const observed = await driverFor(cluster).observe(conn);
    expect(observed).toEqual({ invalid: expect.stringContaining("kubeadm-config") as unknown });
    expect(conn.connected).toEqual([]);
    driverFor(cluster).upgrader(conn, RUN);
    expect(conn.connected).toEqual([]);
  });

  it("observes and upgrades a Cluster API cluster through the management cluster its provider names", async () => {
    const cluster = clusterWith("clusterAPI");
    if (cluster.provider.kind !== "clusterAPI") throw new Error("unreachable");
    const conn = connections(cluster.name);
    const observed = await driverFor(cluster).observe(conn);
    expect(observed).toEqual({ invalid: expect.stringContaining("the management cluster does not serve Cluster") as unknown });
    expect(conn.connected).toEqual([cluster.provider.context]);
    const upgrader = driverFor(cluster).upgrader(conn, RUN);
    expect(conn.connected).toEqual([cluster.provider.context, cluster.provider.context]);
    expect(typeof upgrader.run).toBe("function");
  });
});
