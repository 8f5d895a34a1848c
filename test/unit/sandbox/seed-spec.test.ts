import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { loadSeedSpec, parseSeedSpec } from "../../../src/sandbox/seed-spec.js";

const VALID = `apiVersion: bosun.dev/v1alpha1
kind: Sandbox
clusters:
  - name: one
    kubernetesVersion: "1.34.4"
    nodes:
      - { name: one-cp, role: control-plane, zone: z1 }
      - { name: one-w, role: worker, kubeletVersion: "v1.33.2" }
`;

function errorsOf(text: string): string {
  try {
    parseSeedSpec("sandbox.yaml", text);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error("expected the spec to be rejected");
}

describe("sandbox.yaml", () => {
  it("parses a valid spec, normalising versions and defaulting the endpoint", () => {
    const spec = parseSeedSpec("sandbox.yaml", VALID);
    expect(spec.clusters).toEqual([
      {
        name: "one",
        kubernetesVersion: "1.34.4",
        controlPlaneEndpoint: "one.sandbox.internal:6443",
        nodes: [
          { name: "one-cp", role: "control-plane", zone: "z1" },
          { name: "one-w", role: "worker", kubeletVersion: "1.33.2" },
        ],
      },
    ]);
  });

  it.each([
    ["a YAML syntax error", VALID.replace("kind: Sandbox", "kind: [Sandbox"), /^sandbox\.yaml:\d+:\d+: /],
    ["an unknown field", VALID.replace("    nodes:", "    nodez: []\n    nodes:"), /sandbox\.yaml:6:5: unknown field "nodez".*\(at clusters\[0\]\.nodez\)/],
    ["a version without patch", VALID.replace('"1.34.4"', '"1.34"'), /sandbox\.yaml:5:24: kubernetesVersion must be a version MAJOR\.MINOR\.PATCH.*\(at clusters\[0\]\.kubernetesVersion\)/],
    ["a bad role", VALID.replace("role: worker", "role: boss"), /sandbox\.yaml:8:30: role must be "control-plane" or "worker" \(at clusters\[0\]\.nodes\[1\]\.role\)/],
    ["a cluster name that is not a DNS label", VALID.replace("name: one\n", "name: One_1\n"), /sandbox\.yaml:4:11: name "One_1" must be a DNS-1123 label/],
    ["no control-plane node", VALID.replace("role: control-plane", "role: worker"), /a cluster needs at least one control-plane node \(at clusters\[0\]\.nodes\)/],
    ["a wrong kind", VALID.replace("kind: Sandbox", "kind: Fleet"), /sandbox\.yaml:2:7: kind must be "Sandbox"/],
    ["no clusters", "apiVersion: bosun.dev/v1alpha1\nkind: Sandbox\nclusters: []\n", /clusters must be a non-empty list/],
  ])("rejects %s with file:line:col", (_what, text, expected) => {
    expect(errorsOf(text)).toMatch(expected);
  });

  it("reports duplicate node names across clusters, every error at once", () => {
    const text = `${VALID}  - name: two\n    kubernetesVersion: "1.35.0"\n    nodes:\n      - { name: one-cp, role: control-plane }\n      - { name: x, role: nope }\n`;
    const message = errorsOf(text);
    expect(message).toContain('duplicate node name "one-cp"');
    expect(message).toContain("(at clusters[1].nodes[1].role)");
    expect(message.split("\n")).toHaveLength(2);
  });
});

describe("sandbox.yaml clusterAPI", () => {
  const CAPI = `apiVersion: bosun.dev/v1alpha1
kind: Sandbox
clusters:
  - name: mgmt
    kubernetesVersion: "1.35.4"
    nodes:
      - { name: mgmt-cp, role: control-plane }
  - name: work
    kubernetesVersion: "1.34.4"
    clusterAPI: { management: mgmt, namespace: fleet }
    nodes:
      - { name: work-cp, role: control-plane }
      - { name: work-w1, role: worker, kubeletVersion: "1.33.2" }
      - { name: work-w2, role: worker, kubeletVersion: "1.33.2" }
`;

  it("parses a managed cluster, defaulting the Cluster name to the cluster's", () => {
    const spec = parseSeedSpec("sandbox.yaml", CAPI);
    expect(spec.clusters[0]?.clusterAPI).toBeUndefined();
    expect(spec.clusters[1]?.clusterAPI).toEqual({ management: "mgmt", namespace: "fleet", name: "work" });
  });

  it("keeps an explicit Cluster name", () => {
    const spec = parseSeedSpec("sandbox.yaml", CAPI.replace("namespace: fleet }", "namespace: fleet, name: work-1 }"));
    expect(spec.clusters[1]?.clusterAPI).toEqual({ management: "mgmt", namespace: "fleet", name: "work-1" });
  });

  it("parses fleet-example/sandbox.yaml, whose prod-us-1 is managed from mgmt", async () => {
    const spec = await loadSeedSpec(fileURLToPath(new URL("../../../fleet-example", import.meta.url)));
    const managed = spec.clusters.filter((c) => c.clusterAPI !== undefined);
    expect(managed.map((c) => [c.name, c.clusterAPI])).toEqual([["prod-us-1", { management: "mgmt", namespace: "fleet", name: "prod-us-1" }]]);
    expect(spec.clusters.find((c) => c.name === "mgmt")?.nodes).toHaveLength(1);
  });

  const cycle = `apiVersion: bosun.dev/v1alpha1
kind: Sandbox
clusters:
  - name: a
    kubernetesVersion: "1.35.4"
    clusterAPI: { management: b, namespace: fleet }
    nodes: [{ name: a-cp, role: control-plane }]
  - name: b
    kubernetesVersion: "1.35.4"
    clusterAPI: { management: a, namespace: fleet }
    nodes: [{ name: b-cp, role: control-plane }]
`;

  it.each([
    ["an unknown management cluster", CAPI.replace("management: mgmt", "management: nope"), /sandbox\.yaml:10:31: unknown management cluster "nope" \(clusters: mgmt, work\) \(at clusters\[1\]\.clusterAPI\.management\)/],
    ["a cluster managing itself", CAPI.replace("management: mgmt", "management: work"), /sandbox\.yaml:10:31: cluster "work" cannot be its own Cluster API management cluster \(at clusters\[1\]\.clusterAPI\.management\)/],
    ["a missing namespace", CAPI.replace(", namespace: fleet", ""), /sandbox\.yaml:10:17: namespace is required and must be a string \(at clusters\[1\]\.clusterAPI\.namespace\)/],
    ["a namespace that is not a DNS label", CAPI.replace("namespace: fleet", "namespace: Fleet_1"), /sandbox\.yaml:10:48: namespace "Fleet_1" must be a DNS-1123 label \(at clusters\[1\]\.clusterAPI\.namespace\)/],
    ["an unknown clusterAPI field", CAPI.replace("namespace: fleet }", "namespace: fleet, context: x }"), /sandbox\.yaml:10:55: unknown field "context" \(allowed: management, namespace, name\) \(at clusters\[1\]\.clusterAPI\.context\)/],
    ["clusterAPI that is not a mapping", CAPI.replace("{ management: mgmt, namespace: fleet }", "mgmt"), /sandbox\.yaml:10:17: clusterAPI must be a mapping/],
    ["workers at two versions", CAPI.replace('work-w2, role: worker, kubeletVersion: "1.33.2"', 'work-w2, role: worker, kubeletVersion: "1.32.9"'), /sandbox\.yaml:14:56: the workers of a Cluster API cluster share their MachineDeployment's version: "1\.32\.9" differs from "1\.33\.2" of clusters\[1\]\.nodes\[1\] \(at clusters\[1\]\.nodes\[2\]\.kubeletVersion\)/],
    ["a worker without kubeletVersion next to one with", CAPI.replace(', kubeletVersion: "1.33.2" }\n      - { name: work-w2', " }\n      - { name: work-w2"), /sandbox\.yaml:14:56: the workers of a Cluster API cluster share their MachineDeployment's version: "1\.33\.2" differs from "1\.34\.4" of clusters\[1\]\.nodes\[1\], the cluster's kubernetesVersion/],
    ["a skewed control-plane node", CAPI.replace("{ name: work-cp, role: control-plane }", '{ name: work-cp, role: control-plane, kubeletVersion: "1.33.2" }'), /sandbox\.yaml:12:63: a control-plane node of a Cluster API cluster runs its KubeadmControlPlane's version, the cluster's kubernetesVersion "1\.34\.4" \(at clusters\[1\]\.nodes\[0\]\.kubeletVersion\)/],
    ["a management cycle", cycle, /sandbox\.yaml:6:31: Cluster API management clusters form a cycle: a → b → a \(at clusters\[0\]\.clusterAPI\.management\)/],
  ])("rejects %s with file:line:col", (_what, text, expected) => {
    const message = errorsOf(text);
    expect(message).toMatch(expected);
    expect(message.split("\n")).toHaveLength(1);
  });

  it("rejects two clusters claiming one Cluster object", () => {
    const text = `${CAPI}  - name: other
    kubernetesVersion: "1.34.4"
    clusterAPI: { management: mgmt, namespace: fleet, name: work }
    nodes: [{ name: other-cp, role: control-plane }]
`;
    expect(errorsOf(text)).toMatch(/sandbox\.yaml:17:17: clusters "work" and "other" both claim Cluster API object mgmt:Cluster\.cluster\.x-k8s\.io\/fleet\/work \(at clusters\[2\]\.clusterAPI\)/);
  });
});
