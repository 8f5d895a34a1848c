/**
 * Cluster API in the sandbox, and how bosun reads it back: the CRDs the sandbox installs, the objects it
 * seeds for a managed cluster, the pure readers of the Cluster API observer (`src/drivers/cluster-api/
 * parse.ts`) and the node parser they share with the kubeadm observer (`src/kube/nodes.ts`). The seeded
 * objects are fed to the readers, so seeding and observing are checked to agree without a cluster; the
 * integration test `cluster-api-observe.test.ts` does the same against real API servers.
 */
import { describe, expect, it } from "vitest";
import {
  CAPI,
  CLUSTER_NAME_LABEL as OBSERVED_CLUSTER_NAME_LABEL,
  clusterAPIFromObjects,
  controlPlaneRefOf,
  machineDeploymentSelector,
  type ClusterLike,
  type ControlPlaneLike,
  type MachineDeploymentLike,
} from "../../../src/drivers/cluster-api/parse.js";
import { CONTROL_PLANE_LABEL, ZONE_LABEL, parseNode, parseNodes, withoutV, type NodeLike } from "../../../src/kube/nodes.js";
import {
  CAPI_VERSION,
  CLUSTER_API_CRDS,
  CLUSTER_GROUP,
  CLUSTER_NAME_LABEL,
  CONTROL_PLANE_GROUP,
  type SchemaProps,
} from "../../../src/sandbox/capi-crds.js";
import { clusterAPISeeds, clusterObject, controlPlaneObject, machineDeploymentObject, type SeedObject } from "../../../src/sandbox/capi-seed.js";
import { parseSeedSpec, type SeedCluster } from "../../../src/sandbox/seed-spec.js";

/** A Node as the API server sends it. */
function node(name: string, options: { cp?: boolean; zone?: string; ready?: string | null; unschedulable?: boolean; kubelet?: string } = {}): NodeLike {
  const labels: Record<string, string> = { "kubernetes.io/hostname": name };
  if (options.cp) labels[CONTROL_PLANE_LABEL] = "";
  if (options.zone !== undefined) labels[ZONE_LABEL] = options.zone;
  const conditions = [{ type: "MemoryPressure", status: "False" }];
  if (options.ready !== null) conditions.push({ type: "Ready", status: options.ready ?? "True" });
  return {
    metadata: { name, labels },
    spec: options.unschedulable === undefined ? {} : { unschedulable: options.unschedulable },
    status: { conditions, nodeInfo: { kubeletVersion: options.kubelet ?? "v1.34.4" } },
  };
}

/** The object a seed creates, with the status it then sets (generation 1). */
function stored(seed: SeedObject): Record<string, unknown> {
  return { ...seed.object, status: seed.status(1) };
}

/** Every node of an openAPIV3Schema with its path. */
function schemaNodes(schema: SchemaProps, at = ""): [string, SchemaProps][] {
  const children = [
    ...Object.entries(schema.properties ?? {}).flatMap(([key, child]) => schemaNodes(child, `${at}.${key}`)),
    ...(schema.items ? schemaNodes(schema.items, `${at}[]`) : []),
  ];
  return [[at || "(root)", schema], ...children];
}

describe("parseNode", () => {
  it.each([
    ["a ready control-plane node with a zone", node("cp-1", { cp: true, zone: "z1" }), { name: "cp-1", role: "control-plane", zone: "z1", ready: true, unschedulable: false, kubelet: "1.34.4" }],
    ["a worker without a zone", node("w-1"), { name: "w-1", role: "worker", zone: null, ready: true, unschedulable: false, kubelet: "1.34.4" }],
    ["a cordoned worker", node("w-2", { unschedulable: true }), { name: "w-2", role: "worker", zone: null, ready: true, unschedulable: true, kubelet: "1.34.4" }],
    ["a NotReady node", node("w-3", { ready: "False" }), { name: "w-3", role: "worker", zone: null, ready: false, unschedulable: false, kubelet: "1.34.4" }],
    ["a node whose readiness is Unknown", node("w-4", { ready: "Unknown" }), { name: "w-4", role: "worker", zone: null, ready: false, unschedulable: false, kubelet: "1.34.4" }],
    ["a node without a Ready condition", node("w-5", { ready: null }), { name: "w-5", role: "worker", zone: null, ready: false, unschedulable: false, kubelet: "1.34.4" }],
    ["a kubelet version without v", node("w-6", { kubelet: "1.33.2" }), { name: "w-6", role: "worker", zone: null, ready: true, unschedulable: false, kubelet: "1.33.2" }],
    ["an empty object", {}, { name: "", role: "worker", zone: null, ready: false, unschedulable: false, kubelet: "" }],
  ])("reads %s", (_what, input, expected) => {
    expect(parseNode(input)).toEqual(expected);
  });

  it("takes the control-plane label whatever its value", () => {
    expect(parseNode({ metadata: { name: "x", labels: { [CONTROL_PLANE_LABEL]: "true" } } }).role).toBe("control-plane");
  });

  it("sorts a list by name", () => {
    expect(parseNodes([node("b"), node("a"), node("a-1")]).map((n) => n.name)).toEqual(["a", "a-1", "b"]);
  });

  it.each([["v1.34.2", "1.34.2"], ["1.34.2", "1.34.2"], ["", ""], ["v", ""]])("withoutV(%j) is %j", (input, expected) => {
    expect(withoutV(input)).toBe(expected);
  });
});

describe("Cluster API CRDs of the sandbox", () => {
  it("are the three kinds bosun reads, in the groups and version the observer asks for", () => {
    expect(CLUSTER_API_CRDS.map((c) => c.metadata.name)).toEqual([
      "clusters.cluster.x-k8s.io",
      "kubeadmcontrolplanes.controlplane.x-k8s.io",
      "machinedeployments.cluster.x-k8s.io",
    ]);
    expect([CLUSTER_GROUP, CONTROL_PLANE_GROUP, CAPI_VERSION]).toEqual([CAPI.clusterGroup, CAPI.controlPlaneGroup, CAPI.version]);
    expect(CLUSTER_NAME_LABEL).toBe(OBSERVED_CLUSTER_NAME_LABEL);
  });

  it.each(CLUSTER_API_CRDS.map((crd) => [crd.metadata.name, crd] as const))("%s is structural, with the status subresource", (name, crd) => {
    expect(`${crd.spec.names.plural}.${crd.spec.group}`).toBe(name);
    expect(crd.spec.versions).toHaveLength(1);
    const [version] = crd.spec.versions;
    expect(version?.name).toBe("v1beta1");
    expect(version?.subresources.status).toEqual({});
    const schema = version?.schema.openAPIV3Schema ?? {};
    // Structural: every node says its type; spec and status keep the fields a real object has beyond these.
    for (const [at, prop] of schemaNodes(schema)) expect(prop.type, at).toBeDefined();
    expect(schema.properties?.spec?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
    expect(schema.properties?.status?.["x-kubernetes-preserve-unknown-fields"]).toBe(true);
  });
});

const SPEC = parseSeedSpec(
  "sandbox.yaml",
  `apiVersion: bosun.dev/v1alpha1
kind: Sandbox
clusters:
  - name: mgmt
    kubernetesVersion: "1.35.4"
    nodes: [{ name: mgmt-cp, role: control-plane }]
  - name: work
    kubernetesVersion: "1.34.4"
    controlPlaneEndpoint: api.work.test:7443
    clusterAPI: { management: mgmt, namespace: fleet, name: work-1 }
    nodes:
      - { name: work-cp-1, role: control-plane, zone: a }
      - { name: work-cp-2, role: control-plane, zone: b }
      - { name: work-cp-3, role: control-plane, zone: c }
      - { name: work-w-1, role: worker, zone: a, kubeletVersion: "1.33.2" }
      - { name: work-w-2, role: worker, zone: b, kubeletVersion: "1.33.2" }
`,
);
const WORK = SPEC.clusters[1] as SeedCluster;
const REF = { namespace: "fleet", name: "work-1" };

describe("the sandbox's Cluster API objects", () => {
  it("derive the control plane and the MachineDeployment from the nodes", () => {
    expect(clusterAPISeeds(WORK)).toEqual({
      controlPlane: { namespace: "fleet", cluster: "work-1", name: "work-1-control-plane", replicas: 3, version: "1.34.4" },
      machineDeployment: { namespace: "fleet", cluster: "work-1", name: "work-1-md-0", replicas: 2, version: "1.33.2" },
    });
  });

  it("give a cluster without workers an empty MachineDeployment at the cluster's version", () => {
    const solo: SeedCluster = { ...WORK, nodes: WORK.nodes.filter((n) => n.role === "control-plane") };
    expect(clusterAPISeeds(solo).machineDeployment).toMatchObject({ replicas: 0, version: "1.34.4" });
  });

  it("carry the cluster-name label, the endpoint and the control-plane reference", () => {
    const { controlPlane, machineDeployment } = clusterAPISeeds(WORK);
    const cluster = clusterObject("fleet", "work-1", WORK.controlPlaneEndpoint, controlPlane.name).object;
    expect(cluster.spec).toEqual({
      controlPlaneEndpoint: { host: "api.work.test", port: 7443 },
      controlPlaneRef: { apiVersion: "controlplane.x-k8s.io/v1beta1", kind: "KubeadmControlPlane", namespace: "fleet", name: "work-1-control-plane" },
    });
    expect(controlPlaneObject(controlPlane).object.metadata.labels).toEqual({ [CLUSTER_NAME_LABEL]: "work-1" });
    const md = machineDeploymentObject(machineDeployment).object;
    expect(md.metadata.labels).toEqual({ [CLUSTER_NAME_LABEL]: "work-1" });
    expect(machineDeploymentSelector("work-1")).toBe(`${CLUSTER_NAME_LABEL}=work-1`);
  });

  it("read back through the observer's parser as a converged cluster", () => {
    const { controlPlane, machineDeployment } = clusterAPISeeds(WORK);
    const cluster = stored(clusterObject("fleet", "work-1", WORK.controlPlaneEndpoint, controlPlane.name)) as ClusterLike;
    const ref = controlPlaneRefOf("mgmt", REF, cluster);
    expect(ref).toEqual({ namespace: "fleet", name: "work-1-control-plane" });
    if ("invalid" in ref) return;
    const nodes = WORK.nodes.map((n) => node(n.name, { cp: n.role === "control-plane", ...(n.zone ? { zone: n.zone } : {}), kubelet: `v${n.kubeletVersion ?? WORK.kubernetesVersion}` }));
    const observed = clusterAPIFromObjects("mgmt", REF, ref, stored(controlPlaneObject(controlPlane)), [stored(machineDeploymentObject(machineDeployment))], nodes);
    expect(observed).toEqual({
      kind: "clusterAPI",
      cluster: "fleet/work-1",
      controlPlane: { name: "fleet/work-1-control-plane", version: "1.34.4", replicas: 3, statusVersion: "1.34.4", readyReplicas: 3, updatedReplicas: 3 },
      machineDeployments: [{ name: "work-1-md-0", version: "1.33.2", replicas: 2, readyReplicas: 2, updatedReplicas: 2 }],
      nodes: [
        { name: "work-cp-1", role: "control-plane", zone: "a", ready: true, unschedulable: false, kubelet: "1.34.4" },
        { name: "work-cp-2", role: "control-plane", zone: "b", ready: true, unschedulable: false, kubelet: "1.34.4" },
        { name: "work-cp-3", role: "control-plane", zone: "c", ready: true, unschedulable: false, kubelet: "1.34.4" },
        { name: "work-w-1", role: "worker", zone: "a", ready: true, unschedulable: false, kubelet: "1.33.2" },
        { name: "work-w-2", role: "worker", zone: "b", ready: true, unschedulable: false, kubelet: "1.33.2" },
      ],
    });
  });
});

describe("Cluster API observer: pure readers", () => {
  const KCP_REF = { namespace: "fleet", name: "work-1-control-plane" };

  it.each([
    ["no controlPlaneRef", { spec: {} }, /^mgmt:Cluster\.cluster\.x-k8s\.io\/fleet\/work-1 has no spec\.controlPlaneRef/],
    ["a control plane of another kind", { spec: { controlPlaneRef: { apiVersion: "controlplane.cluster.x-k8s.io/v1beta2", kind: "TalosControlPlane", name: "x" } } }, /mgmt:Cluster\.cluster\.x-k8s\.io\/fleet\/work-1: its control plane is a TalosControlPlane of controlplane\.cluster\.x-k8s\.io\/v1beta2; bosun upgrades .* through a KubeadmControlPlane/],
    ["a KubeadmControlPlane of another group", { spec: { controlPlaneRef: { apiVersion: "example.com/v1", kind: "KubeadmControlPlane", name: "x" } } }, /its control plane is a KubeadmControlPlane of example\.com\/v1/],
    ["a ClusterClass topology", { spec: { topology: { version: "v1.34.4" }, controlPlaneRef: { apiVersion: "controlplane.cluster.x-k8s.io/v1beta1", kind: "KubeadmControlPlane", name: "x" } } }, /is built from a ClusterClass \(spec\.topology\)/],
  ])("rejects a Cluster with %s", (_what, cluster, expected) => {
    const result = controlPlaneRefOf("mgmt", REF, cluster);
    expect("invalid" in result && result.invalid).toMatch(expected);
  });

  it("defaults the control plane's namespace to the Cluster's", () => {
    const cluster = { spec: { controlPlaneRef: { apiVersion: "controlplane.x-k8s.io/v1beta1", kind: "KubeadmControlPlane", name: "cp" } } };
    expect(controlPlaneRefOf("mgmt", REF, cluster)).toEqual({ namespace: "fleet", name: "cp" });
  });

  it("defaults replicas to 1 and missing status to zero and null, and sorts MachineDeployments by name", () => {
    const kcp: ControlPlaneLike = { spec: { version: "v1.34.4" } };
    const md = (name: string): MachineDeploymentLike => ({ metadata: { name }, spec: { template: { spec: { version: "v1.33.2" } } } });
    const observed = clusterAPIFromObjects("mgmt", REF, KCP_REF, kcp, [md("md-b"), md("md-a")], []);
    expect(observed).toEqual({
      kind: "clusterAPI",
      cluster: "fleet/work-1",
      controlPlane: { name: "fleet/work-1-control-plane", version: "1.34.4", replicas: 1, statusVersion: null, readyReplicas: 0, updatedReplicas: 0 },
      machineDeployments: [
        { name: "md-a", version: "1.33.2", replicas: 1, readyReplicas: 0, updatedReplicas: 0 },
        { name: "md-b", version: "1.33.2", replicas: 1, readyReplicas: 0, updatedReplicas: 0 },
      ],
      nodes: [],
    });
  });

  it("reports a control plane mid-upgrade as it is", () => {
    const kcp: ControlPlaneLike = { spec: { version: "v1.35.0", replicas: 3 }, status: { version: "v1.34.4", readyReplicas: 3, updatedReplicas: 1 } };
    const observed = clusterAPIFromObjects("mgmt", REF, KCP_REF, kcp, [], []);
    expect("invalid" in observed ? observed : observed.controlPlane).toEqual({
      name: "fleet/work-1-control-plane", version: "1.35.0", replicas: 3, statusVersion: "1.34.4", readyReplicas: 3, updatedReplicas: 1,
    });
  });

  it.each([
    ["a KubeadmControlPlane without a version", { spec: {} }, [], /^mgmt:KubeadmControlPlane\.controlplane\.x-k8s\.io\/fleet\/work-1-control-plane has no valid spec\.version \(null\)$/],
    ["a KubeadmControlPlane with a bad version", { spec: { version: "latest" } }, [], /has no valid spec\.version \("latest"\)/],
    ["a MachineDeployment without a version", { spec: { version: "v1.34.4" } }, [{ metadata: { name: "md-0", namespace: "fleet" }, spec: {} }], /^mgmt:MachineDeployment\.cluster\.x-k8s\.io\/fleet\/md-0 has no valid spec\.template\.spec\.version \(null\)$/],
  ])("rejects %s", (_what, kcp, mds, expected) => {
    const observed = clusterAPIFromObjects("mgmt", REF, KCP_REF, kcp, mds as MachineDeploymentLike[], []);
    expect("invalid" in observed && observed.invalid).toMatch(expected);
  });
});
