/**
 * The kubeadm observer's pure half: reading `kubeadm-config`'s ClusterConfiguration, static pod image tags,
 * and combining Nodes and static pods into the observation.
 */
import { describe, expect, it } from "vitest";
import { imageTag, imageVersion, kubeadmFromObjects, parseClusterConfiguration } from "../../../../src/drivers/kubeadm/parse.js";
import { controlPlanePods, kubeadmConfig, node, staticPod } from "./builders.js";

const config = (options?: Parameters<typeof kubeadmConfig>[0]): string => kubeadmConfig(options).data?.ClusterConfiguration ?? "";

describe("parseClusterConfiguration", () => {
  it.each([
    ["kubeadm v1beta4 with stacked etcd", config(), { kubernetesVersion: "1.34.2", controlPlaneEndpoint: "api.example.com:6443", etcd: { mode: "stacked" } }],
    ["no controlPlaneEndpoint (single control-plane node)", config({ endpoint: null }), { kubernetesVersion: "1.34.2", controlPlaneEndpoint: null, etcd: { mode: "stacked" } }],
    [
      "external etcd",
      config({ etcd: "etcd:\n  external:\n    endpoints: [https://10.0.0.5:2379, https://10.0.0.6:2379]\n    caFile: /etc/kubernetes/pki/etcd/ca.crt\n" }),
      { kubernetesVersion: "1.34.2", controlPlaneEndpoint: "api.example.com:6443", etcd: { mode: "external", endpoints: ["https://10.0.0.5:2379", "https://10.0.0.6:2379"] } },
    ],
    [
      "v1beta3 (kubeadm before 1.31), without etcd: kubeadm's default is local",
      "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.14\ncontrolPlaneEndpoint: ''\n",
      { kubernetesVersion: "1.30.14", controlPlaneEndpoint: null, etcd: { mode: "stacked" } },
    ],
    ["a pre-release version", config({ version: "1.35.0-rc.1" }), { kubernetesVersion: "1.35.0-rc.1", controlPlaneEndpoint: "api.example.com:6443", etcd: { mode: "stacked" } }],
  ])("reads %s", (_name, text, expected) => {
    expect(parseClusterConfiguration(text)).toEqual(expected);
  });

  it.each([
    ["not YAML", "kind: [unclosed", /is not valid YAML/],
    ["not a mapping", "- a\n- b\n", /is not a YAML mapping/],
    ["another kind", "kind: InitConfiguration\nkubernetesVersion: v1.34.2\n", /has kind "InitConfiguration", expected ClusterConfiguration/],
    ["no version", "kind: ClusterConfiguration\n", /kubernetesVersion is missing/],
    ["a version label", "kind: ClusterConfiguration\nkubernetesVersion: stable-1\n", /kubernetesVersion is "stable-1"/],
    ["both etcd modes", "kubernetesVersion: v1.34.2\netcd:\n  local: {dataDir: /var/lib/etcd}\n  external: {endpoints: [https://e:2379]}\n", /both local and external/],
    ["external etcd without endpoints", "kubernetesVersion: v1.34.2\netcd:\n  external: {}\n", /external.endpoints must be a non-empty list/],
  ])("rejects %s", (_name, text, message) => {
    const result = parseClusterConfiguration(text);
    expect(result).toHaveProperty("invalid");
    expect("invalid" in result ? result.invalid : "").toMatch(message);
    expect("invalid" in result ? result.invalid : "").toMatch(/^kube-system\/kubeadm-config: /);
  });
});

describe("image tags", () => {
  it.each([
    ["registry.k8s.io/kube-apiserver:v1.34.2", "v1.34.2", "1.34.2"],
    ["registry.k8s.io/etcd:3.6.4-0", "3.6.4-0", "3.6.4-0"],
    ["gcr.io/etcd-development/etcd:v3.6.5", "v3.6.5", "3.6.5"],
    ["registry.local:5000/kube-scheduler:v1.33.7", "v1.33.7", "1.33.7"],
    ["registry.local:5000/kube-scheduler", null, null],
    ["kube-apiserver:v1.34.2@sha256:0123456789abcdef", "v1.34.2", "1.34.2"],
    ["registry.k8s.io/kube-apiserver@sha256:0123456789abcdef", null, null],
    ["kube-apiserver", null, null],
    ["kube-apiserver:", null, null],
  ])("%s → tag %s, version %s", (image, tag, version) => {
    expect(imageTag(image)).toBe(tag);
    expect(imageVersion(image)).toBe(version);
  });
});

describe("kubeadmFromObjects", () => {
  const haNodes = [
    node("cp-2", { role: "control-plane", kubelet: "1.34.2", zone: "zone-b" }),
    node("cp-1", { role: "control-plane", kubelet: "1.34.2", zone: "zone-a" }),
    node("cp-3", { role: "control-plane", kubelet: "1.34.2", zone: "zone-c" }),
    node("worker-1", { kubelet: "1.33.5", zone: "zone-a", unschedulable: true }),
  ];
  const haPods = [...controlPlanePods("cp-1", "1.35.0", "3.6.5-0"), ...controlPlanePods("cp-2", "1.34.2"), ...controlPlanePods("cp-3", "1.34.2")];

  it("says which ConfigMap is missing and what that suggests", () => {
    expect(kubeadmFromObjects("prod-eu-1", null, haNodes, haPods)).toEqual({
      invalid: expect.stringMatching(/^kube-system\/kubeadm-config not found: is prod-eu-1 a kubeadm cluster\? .*provider\.clusterAPI/) as unknown,
    });
    expect(kubeadmFromObjects("prod-eu-1", { data: {} }, haNodes, haPods)).toEqual({
      invalid: "kube-system/kubeadm-config has no ClusterConfiguration key: is prod-eu-1 a kubeadm cluster?",
    });
  });

  it("combines config, nodes and static pods of an HA cluster mid-upgrade", () => {
    expect(kubeadmFromObjects("prod", kubeadmConfig({ version: "1.35.0" }), haNodes, [...haPods].reverse())).toEqual({
      kind: "kubeadm",
      clusterVersion: "1.35.0",
      controlPlaneEndpoint: "api.example.com:6443",
      etcd: { mode: "stacked", members: ["cp-1", "cp-2", "cp-3"] },
      nodes: [
        { name: "cp-1", role: "control-plane", zone: "zone-a", ready: true, unschedulable: false, kubelet: "1.34.2" },
        { name: "cp-2", role: "control-plane", zone: "zone-b", ready: true, unschedulable: false, kubelet: "1.34.2" },
        { name: "cp-3", role: "control-plane", zone: "zone-c", ready: true, unschedulable: false, kubelet: "1.34.2" },
        { name: "worker-1", role: "worker", zone: "zone-a", ready: true, unschedulable: true, kubelet: "1.33.5" },
      ],
      controlPlane: [
        { node: "cp-1", apiserver: "1.35.0", controllerManager: "1.35.0", scheduler: "1.35.0", etcd: "3.6.5-0", ready: true },
        { node: "cp-2", apiserver: "1.34.2", controllerManager: "1.34.2", scheduler: "1.34.2", etcd: "3.6.4-0", ready: true },
        { node: "cp-3", apiserver: "1.34.2", controllerManager: "1.34.2", scheduler: "1.34.2", etcd: "3.6.4-0", ready: true },
      ],
    });
  });

  it("reports a missing static pod as null and the node as not ready; an unready pod makes it not ready", () => {
    const pods = [
      ...controlPlanePods("cp-1", "1.34.2").filter((p) => p.metadata?.labels?.component !== "kube-scheduler"),
      ...controlPlanePods("cp-2", "1.34.2").map((p) =>
        p.metadata?.labels?.component === "etcd" ? staticPod("etcd", "cp-2", "registry.k8s.io/etcd:3.6.4-0", { ready: false }) : p,
      ),
    ];
    const observed = kubeadmFromObjects("c", kubeadmConfig(), haNodes, pods);
    if ("invalid" in observed) throw new Error(observed.invalid);
    expect(observed.controlPlane).toEqual([
      { node: "cp-1", apiserver: "1.34.2", controllerManager: "1.34.2", scheduler: null, etcd: "3.6.4-0", ready: false },
      { node: "cp-2", apiserver: "1.34.2", controllerManager: "1.34.2", scheduler: "1.34.2", etcd: "3.6.4-0", ready: false },
      { node: "cp-3", apiserver: null, controllerManager: null, scheduler: null, etcd: null, ready: false },
    ]);
    expect(observed.etcd).toEqual({ mode: "stacked", members: ["cp-1", "cp-2"] });
  });

  it("ignores pods that are not kubeadm's mirror pods, other components, and pods on worker nodes", () => {
    const pods = [
      ...controlPlanePods("cp-1", "1.34.2"),
      staticPod("kube-apiserver", "cp-2", "example.com/fake-apiserver:v9.9.9", { mirror: false }),
      staticPod("kube-vip", "cp-2", "ghcr.io/kube-vip/kube-vip:v0.8.0"),
      staticPod("kube-apiserver", "worker-1", "registry.k8s.io/kube-apiserver:v1.34.2"),
    ];
    const observed = kubeadmFromObjects("c", kubeadmConfig(), haNodes, pods);
    if ("invalid" in observed) throw new Error(observed.invalid);
    expect(observed.controlPlane.map((e) => [e.node, e.apiserver])).toEqual([
      ["cp-1", "1.34.2"],
      ["cp-2", null],
      ["cp-3", null],
    ]);
  });

  it("does not require etcd pods with external etcd", () => {
    const cfg = kubeadmConfig({ etcd: "etcd:\n  external:\n    endpoints: [https://10.0.0.5:2379]\n" });
    const pods = controlPlanePods("cp-1", "1.34.2").filter((p) => p.metadata?.labels?.component !== "etcd");
    const observed = kubeadmFromObjects("c", cfg, [node("cp-1", { role: "control-plane" })], pods);
    if ("invalid" in observed) throw new Error(observed.invalid);
    expect(observed.etcd).toEqual({ mode: "external", endpoints: ["https://10.0.0.5:2379"] });
    expect(observed.controlPlane).toEqual([{ node: "cp-1", apiserver: "1.34.2", controllerManager: "1.34.2", scheduler: "1.34.2", etcd: null, ready: true }]);
  });

  it("is independent of the order the API lists objects in", () => {
    // A second apiserver mirror pod on cp-1 (never seen in practice): the first by name wins either way.
    const stray = staticPod("kube-apiserver", "cp-1", "registry.k8s.io/kube-apiserver:v1.99.0");
    const pods = [...haPods, { ...stray, metadata: { ...stray.metadata, name: "kube-apiserver-cp-1-stray" } }];
    const a = kubeadmFromObjects("c", kubeadmConfig(), haNodes, pods);
    const b = kubeadmFromObjects("c", kubeadmConfig(), [...haNodes].reverse(), [...pods].reverse());
    expect(a).toEqual(b);
    expect("invalid" in a ? null : a.controlPlane[0]?.apiserver).toBe("1.35.0");
  });
});
