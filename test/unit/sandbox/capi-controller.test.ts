/**
 * The sandbox's simulated Cluster API controller, its pure parts (`src/sandbox/capi-controller.ts`): which
 * Nodes are whose machines, which machine change comes next, what the status says meanwhile, and which
 * objects it reconciles at all. The integration test `upgrade-cluster-api.test.ts` runs it for real.
 */
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_LABEL, ZONE_LABEL } from "../../../src/kube/nodes.js";
import { DEPLOYMENT_NAME_LABEL } from "../../../src/sandbox/capi-crds.js";
import {
  MACHINE_MS,
  machineCounts,
  machinesOf,
  needsReconcile,
  nextMachineAction,
  type Machine,
  type MachineAction,
  type MachineGroup,
  type MachineOperation,
  type NewMachine,
  type ReconcileView,
} from "../../../src/sandbox/capi-controller.js";

const T0 = "2026-01-01T00:00:00.000Z";
const NOW = new Date("2026-01-01T00:01:00.000Z");

function machine(name: string, version: string, created = T0, zone: string | null = null): Machine {
  return { name, version, created, zone };
}

function group(version: string, replicas: number, machines: Machine[], operation: MachineOperation | null = null): MachineGroup {
  return { version, replicas, machines, operation };
}

const NAMING: NewMachine = { prefix: "work-cp", taken: ["work-cp-1", "work-worker-1"], zones: ["zone-a", "zone-b"] };

describe("nextMachineAction", () => {
  it.each<[string, MachineGroup, MachineAction]>([
    ["converged", group("v1.34.0", 1, [machine("work-cp-1", "v1.34.0")]), { kind: "converged" }],
    [
      "upgrades the oldest outdated machine first",
      group("v1.35.0", 3, [machine("cp-b", "v1.34.0", "2026-01-01T00:00:02Z"), machine("cp-a", "v1.34.0", "2026-01-01T00:00:03Z"), machine("cp-c", "v1.35.0", T0)]),
      { kind: "begin", operation: { change: "upgrade", machine: "cp-b", from: "v1.34.0", to: "v1.35.0", zone: null } },
    ],
    [
      "creates a missing machine once every machine is up to date, under the lowest free name, in the least used zone",
      group("v1.35.0", 3, [machine("work-cp-1", "v1.35.0", T0, "zone-a")]),
      { kind: "begin", operation: { change: "create", machine: "work-cp-2", from: null, to: "v1.35.0", zone: "zone-b" } },
    ],
    [
      "upgrades before it scales up",
      group("v1.35.0", 3, [machine("work-cp-1", "v1.34.0")]),
      { kind: "begin", operation: { change: "upgrade", machine: "work-cp-1", from: "v1.34.0", to: "v1.35.0", zone: null } },
    ],
    [
      "removes the newest machine when there are too many",
      group("v1.35.0", 1, [machine("cp-1", "v1.35.0", T0), machine("cp-3", "v1.35.0", "2026-01-01T00:00:09Z"), machine("cp-2", "v1.35.0", "2026-01-01T00:00:05Z")]),
      { kind: "begin", operation: { change: "delete", machine: "cp-3", from: "v1.35.0", to: null, zone: null } },
    ],
    [
      "removes an outdated machine rather than an up-to-date one",
      group("v1.35.0", 1, [machine("cp-1", "v1.34.0", T0), machine("cp-2", "v1.35.0", "2026-01-01T00:00:05Z")]),
      { kind: "begin", operation: { change: "delete", machine: "cp-1", from: "v1.34.0", to: null, zone: null } },
    ],
    [
      "waits while a change takes its time",
      group("v1.35.0", 1, [machine("cp-1", "v1.34.0")], { change: "upgrade", machine: "cp-1", from: "v1.34.0", to: "v1.35.0", zone: null, since: new Date(NOW.getTime() - MACHINE_MS + 1).toISOString() }),
      { kind: "wait" },
    ],
    [
      "finishes a change that took its time",
      group("v1.35.0", 1, [machine("cp-1", "v1.34.0")], { change: "upgrade", machine: "cp-1", from: "v1.34.0", to: "v1.35.0", zone: null, since: new Date(NOW.getTime() - MACHINE_MS).toISOString() }),
      { kind: "finish", operation: { change: "upgrade", machine: "cp-1", from: "v1.34.0", to: "v1.35.0", zone: null, since: new Date(NOW.getTime() - MACHINE_MS).toISOString() } },
    ],
    [
      "reads versions with or without the v",
      group("1.35.0", 1, [machine("cp-1", "1.35.0")]),
      { kind: "converged" },
    ],
  ])("%s", (_, input, expected) => {
    expect(nextMachineAction(input, NOW, NAMING)).toEqual(expected);
  });

  it("a rolling upgrade of three then a scale to five changes one machine at a time, in order", () => {
    // Plays the controller: begin, finish, repeat; the machines are what finishing leaves.
    let machines = [machine("work-cp-1", "v1.34.0", "2026-01-01T00:00:01Z", "zone-a"), machine("work-cp-2", "v1.34.0", "2026-01-01T00:00:02Z", "zone-b"), machine("work-cp-3", "v1.34.0", "2026-01-01T00:00:03Z", "zone-a")];
    const changes: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const action = nextMachineAction(group("v1.35.0", 5, machines), NOW, { prefix: "work-cp", taken: machines.map((m) => m.name), zones: ["zone-a", "zone-b"] });
      if (action.kind !== "begin") break;
      const op = action.operation;
      changes.push(`${op.change} ${op.machine}${op.zone && op.change === "create" ? ` ${op.zone}` : ""}`);
      if (op.change === "create") machines = [...machines, machine(op.machine, op.to ?? "", `2026-01-01T00:00:1${i}Z`, op.zone)];
      else if (op.change === "upgrade") machines = machines.map((m) => (m.name === op.machine ? { ...m, version: op.to ?? "" } : m));
    }
    expect(changes).toEqual(["upgrade work-cp-1", "upgrade work-cp-2", "upgrade work-cp-3", "create work-cp-4 zone-b", "create work-cp-5 zone-a"]);
  });
});

describe("machineCounts", () => {
  const op = (change: MachineOperation["change"], name: string, to: string | null): MachineOperation => ({ change, machine: name, from: null, to, zone: null, since: T0 });
  it.each<[string, MachineGroup, ReturnType<typeof machineCounts>]>([
    ["converged", group("v1.35.0", 2, [machine("a", "v1.35.0"), machine("b", "v1.35.0")]), { replicas: 2, updatedReplicas: 2, readyReplicas: 2, unavailableReplicas: 0, version: "v1.35.0" }],
    [
      "a machine being upgraded is neither updated nor ready; the version is the oldest",
      group("v1.35.0", 2, [machine("a", "v1.34.0"), machine("b", "v1.34.0")], op("upgrade", "a", "v1.35.0")),
      { replicas: 2, updatedReplicas: 0, readyReplicas: 1, unavailableReplicas: 1, version: "v1.34.0" },
    ],
    [
      "a machine being created counts, updated but not ready",
      group("v1.35.0", 3, [machine("a", "v1.35.0")], op("create", "c", "v1.35.0")),
      { replicas: 2, updatedReplicas: 2, readyReplicas: 1, unavailableReplicas: 1, version: "v1.35.0" },
    ],
    [
      "a machine being deleted still counts, not ready",
      group("v1.35.0", 1, [machine("a", "v1.35.0"), machine("b", "v1.35.0")], op("delete", "b", null)),
      { replicas: 2, updatedReplicas: 2, readyReplicas: 1, unavailableReplicas: 1, version: "v1.35.0" },
    ],
    ["no machines", group("v1.35.0", 2, []), { replicas: 0, updatedReplicas: 0, readyReplicas: 0, unavailableReplicas: 0, version: null }],
    ["versions compared as versions, not text", group("v1.10.0", 2, [machine("a", "v1.9.0"), machine("b", "v1.10.0")]), { replicas: 2, updatedReplicas: 1, readyReplicas: 2, unavailableReplicas: 0, version: "v1.9.0" }],
  ])("%s", (_, input, expected) => {
    expect(machineCounts(input)).toEqual(expected);
  });
});

describe("needsReconcile", () => {
  const converged: ReconcileView = {
    generation: 2,
    specReplicas: 3,
    specVersion: "v1.35.0",
    status: { observedGeneration: 2, version: "v1.35.0", replicas: 3, updatedReplicas: 3, readyReplicas: 3 },
    operation: false,
  };
  it.each<[string, ReconcileView, boolean]>([
    ["converged (as seeded)", converged, false],
    ["a new generation", { ...converged, generation: 3 }, true],
    ["a version its status does not show", { ...converged, specVersion: "v1.36.0" }, true],
    ["more replicas asked for", { ...converged, specReplicas: 5 }, true],
    ["a machine not ready", { ...converged, status: { ...converged.status, readyReplicas: 2 } }, true],
    ["a change under way", { ...converged, operation: true }, true],
    ["a MachineDeployment (no version in its status)", { ...converged, specVersion: undefined, status: { ...converged.status, version: undefined } }, false],
    ["without a generation", { ...converged, generation: undefined }, false],
  ])("%s", (_, view, expected) => {
    expect(needsReconcile(view)).toBe(expected);
  });
});

describe("machinesOf", () => {
  function node(name: string, options: { cp?: boolean; deployment?: string; kubelet?: string; zone?: string } = {}): k8s.V1Node {
    const labels: Record<string, string> = {};
    if (options.cp) labels[CONTROL_PLANE_LABEL] = "";
    if (options.deployment) labels[DEPLOYMENT_NAME_LABEL] = options.deployment;
    if (options.zone) labels[ZONE_LABEL] = options.zone;
    return { metadata: { name, labels, creationTimestamp: new Date(T0) }, status: { nodeInfo: { kubeletVersion: options.kubelet ?? "v1.34.0" } as k8s.V1NodeSystemInfo } };
  }
  const nodes = [
    node("cp-1", { cp: true, zone: "zone-a" }),
    node("w-1", { kubelet: "v1.33.7" }),
    node("w-2", { deployment: "work-md-1" }),
    node("w-3", { deployment: "work-md-0" }),
  ];

  it("gives the control plane its control-plane Nodes", () => {
    expect(machinesOf(nodes, { kind: "KubeadmControlPlane" })).toEqual([{ name: "cp-1", version: "v1.34.0", created: T0, zone: "zone-a" }]);
  });

  it("gives <cluster>-md-0 the unlabelled workers and its own, every other MachineDeployment only its own", () => {
    expect(machinesOf(nodes, { kind: "MachineDeployment", name: "work-md-0", cluster: "work" }).map((m) => m.name)).toEqual(["w-1", "w-3"]);
    expect(machinesOf(nodes, { kind: "MachineDeployment", name: "work-md-1", cluster: "work" }).map((m) => m.name)).toEqual(["w-2"]);
    expect(machinesOf(nodes, { kind: "MachineDeployment", name: "work-md-2", cluster: "work" })).toEqual([]);
  });
});
