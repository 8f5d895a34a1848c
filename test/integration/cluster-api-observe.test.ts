/**
 * The Cluster API observer against real API servers: a sandbox of its own (lite mode: no controller is
 * needed, Cluster API's objects are seeded converged) from test/fixtures/sandbox-capi, where `capi-mgmt`
 * plays the management cluster of `capi-work`. Checks what is observed, that the number of requests does
 * not grow with the number of MachineDeployments, and the `invalid` outcomes.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLUSTER_API_OBSERVE_REQUESTS, observeClusterAPI } from "../../src/drivers/cluster-api/observe.js";
import { loadKubeConfig } from "../../src/kube/config.js";
import { KubeRest, UnreachableError } from "../../src/kube/rest.js";
import type { ObservedClusterAPI } from "../../src/plan/observed.js";
import { CLUSTER_API_CRDS, CLUSTER_NAME_LABEL } from "../../src/sandbox/capi-crds.js";
import { clusterObject, machineDeploymentObject, seedObject } from "../../src/sandbox/capi-seed.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { bosun } from "../support/sandbox.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/sandbox-capi", import.meta.url));
const NAME = "capi";
const REF = { namespace: "fleet", name: "work" };

/** What the fixture seeds, as the observer reports it. */
const CONVERGED: ObservedClusterAPI = {
  kind: "clusterAPI",
  cluster: "fleet/work",
  controlPlane: { name: "fleet/work-control-plane", version: "1.34.4", replicas: 3, statusVersion: "1.34.4", readyReplicas: 3, updatedReplicas: 3 },
  machineDeployments: [{ name: "work-md-0", version: "1.33.7", replicas: 2, readyReplicas: 2, updatedReplicas: 2 }],
  nodes: [
    { name: "capi-work-cp-1", role: "control-plane", zone: "zone-a", ready: true, unschedulable: false, kubelet: "1.34.4" },
    { name: "capi-work-cp-2", role: "control-plane", zone: "zone-b", ready: true, unschedulable: false, kubelet: "1.34.4" },
    { name: "capi-work-cp-3", role: "control-plane", zone: "zone-c", ready: true, unschedulable: false, kubelet: "1.34.4" },
    { name: "capi-work-worker-1", role: "worker", zone: "zone-a", ready: true, unschedulable: false, kubelet: "1.33.7" },
    { name: "capi-work-worker-2", role: "worker", zone: "zone-b", ready: true, unschedulable: false, kubelet: "1.33.7" },
  ],
};

describe("Cluster API observer (own lite sandbox: capi-mgmt manages capi-work)", () => {
  let root: string;
  let kubeconfig: string;
  /** A fresh client, so its request count starts at zero. */
  const rest = (context: string, file = kubeconfig): KubeRest => new KubeRest(loadKubeConfig(file, context), { cluster: context });

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-capi-"));
    const up = await bosun(["sandbox", "up", "--from", FIXTURE, "--root", root, "--name", NAME]);
    expect(up.exitCode, up.stderr).toBe(0);
    kubeconfig = sandboxLayout(root, NAME).kubeconfig;
  });

  afterAll(async () => {
    await bosun(["sandbox", "down", "--root", root, "--name", NAME]);
    await fs.rm(root, { recursive: true, force: true });
  });

  it("installed the CRDs in the management cluster only, Established", async () => {
    const mgmt = rest("capi-mgmt");
    for (const crd of CLUSTER_API_CRDS) {
      const live = await mgmt.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      );
      expect(live?.status?.conditions?.find((c) => c.type === "Established")?.status, crd.metadata.name).toBe("True");
    }
    expect(await rest("capi-work").get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusters.cluster.x-k8s.io")).toBeNull();
  });

  it("seeded the objects with Cluster API's labels and the Cluster as owner", async () => {
    const mgmt = rest("capi-mgmt");
    const md = await mgmt.get<{ metadata: { labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] } }>(
      "/apis/cluster.x-k8s.io/v1beta1/namespaces/fleet/machinedeployments/work-md-0",
    );
    expect(md?.metadata.labels?.[CLUSTER_NAME_LABEL]).toBe("work");
    expect(md?.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}`)).toEqual(["Cluster/work"]);
  });

  it("observes the converged cluster: 3 requests to the management cluster, 1 to the workload cluster", async () => {
    const mgmt = rest("capi-mgmt");
    const work = rest("capi-work");
    expect(await observeClusterAPI(mgmt, work, REF)).toEqual(CONVERGED);
    expect({ management: mgmt.requests, workload: work.requests }).toEqual(CLUSTER_API_OBSERVE_REQUESTS);
  });

  it("makes the same requests with a second MachineDeployment, and reports both sorted by name", async () => {
    const added = machineDeploymentObject({ namespace: "fleet", cluster: "work", name: "work-md-1", replicas: 4, version: "1.34.4" });
    await seedObject(rest("capi-mgmt"), added);
    const mgmt = rest("capi-mgmt");
    const work = rest("capi-work");
    const observed = await observeClusterAPI(mgmt, work, REF);
    expect(observed).toEqual({
      ...CONVERGED,
      machineDeployments: [...CONVERGED.machineDeployments, { name: "work-md-1", version: "1.34.4", replicas: 4, readyReplicas: 4, updatedReplicas: 4 }],
    });
    expect({ management: mgmt.requests, workload: work.requests }).toEqual(CLUSTER_API_OBSERVE_REQUESTS);
  });

  it("ignores MachineDeployments of other clusters in the namespace", async () => {
    await seedObject(rest("capi-mgmt"), machineDeploymentObject({ namespace: "fleet", cluster: "other", name: "other-md-0", replicas: 1, version: "1.30.0" }));
    const observed = await observeClusterAPI(rest("capi-mgmt"), rest("capi-work"), REF);
    expect("invalid" in observed ? observed : observed.machineDeployments.map((m) => m.name)).toEqual(["work-md-0", "work-md-1"]);
  });

  it("reports a missing Cluster as invalid, naming it", async () => {
    const observed = await observeClusterAPI(rest("capi-mgmt"), rest("capi-work"), { namespace: "fleet", name: "missing" });
    expect(observed).toEqual({ invalid: "capi-mgmt:Cluster.cluster.x-k8s.io/fleet/missing not found in the management cluster" });
  });

  it("reports a Cluster whose KubeadmControlPlane is missing as invalid, naming both", async () => {
    await seedObject(rest("capi-mgmt"), clusterObject("fleet", "orphan", "api.orphan.test:6443", "orphan-control-plane"));
    const observed = await observeClusterAPI(rest("capi-mgmt"), rest("capi-work"), { namespace: "fleet", name: "orphan" });
    expect(observed).toEqual({
      invalid: "capi-mgmt:KubeadmControlPlane.controlplane.x-k8s.io/fleet/orphan-control-plane (spec.controlPlaneRef of Cluster fleet/orphan) not found in the management cluster",
    });
  });

  it("reports a management cluster without Cluster API as invalid", async () => {
    const observed = await observeClusterAPI(rest("capi-work"), rest("capi-work"), REF);
    expect("invalid" in observed && observed.invalid).toMatch(
      /^capi-work:Cluster\.cluster\.x-k8s\.io\/fleet\/work: the management cluster does not serve Cluster \(cluster\.x-k8s\.io\/v1beta1\); is Cluster API installed there/,
    );
  });

  it("throws UnreachableError when the workload cluster cannot be reached", async () => {
    const config = parse(await fs.readFile(kubeconfig, "utf8")) as { clusters: { name: string; cluster: { server: string } }[] };
    for (const c of config.clusters) if (c.name === "capi-work") c.cluster.server = "https://127.0.0.1:1";
    const broken = path.join(root, "broken-kubeconfig");
    await fs.writeFile(broken, stringify(config), { mode: 0o600 });
    await expect(observeClusterAPI(rest("capi-mgmt"), rest("capi-work", broken), REF)).rejects.toBeInstanceOf(UnreachableError);
  });
});
