import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../src/errors.js";
import { parseSeedSpec } from "../../../src/sandbox/seed-spec.js";

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
