/**
 * The planner's add-on steps (DESIGN section 5): `addon.install | addon.upgrade | addon.apply` in dependency
 * order, each Kustomize apply followed by its `addon.prune`, a dependency's block passed on to its
 * dependants, and `addon.uninstall` for add-ons that left the spec. Pure: the observers did the diffing.
 */
import type { DesiredAddon, DesiredCluster } from "../spec/types.js";
import type { HelmAddonObservation, KustomizeAddonObservation, ObjectChange, ObservedReachable } from "./observed.js";
import type { ObjectSummary, Step } from "./types.js";

/** The add-on steps in dependency order, then the uninstalls of add-ons that left the spec, newest first. */
export function addonSteps(desired: DesiredCluster, observed: ObservedReachable): Step[] {
  const steps: Step[] = [];
  const blockedAddons = new Map<string, string>();
  const byName = new Map(observed.addons.desired.map((a) => [a.name, a]));
  for (const addon of desired.addons) {
    const seen = byName.get(addon.name);
    if (!seen) continue;
    const blockedDependency = addon.dependsOn.find((dep) => blockedAddons.has(dep));
    const addonSteps = seen.kind === "helm" ? helmSteps(desired.name, addon, seen) : kustomizeSteps(desired.name, addon, seen);
    for (const step of addonSteps) {
      if (blockedDependency !== undefined && step.state === "pending") {
        step.state = "blocked";
        step.reason = `depends on ${blockedDependency}, which is blocked`;
      }
      if (step.state === "blocked") blockedAddons.set(addon.name, step.reason ?? "blocked");
    }
    steps.push(...addonSteps);
  }
  const wanted = new Set(desired.addons.map((a) => a.name));
  for (const installed of [...observed.addons.installed].reverse()) {
    if (wanted.has(installed.name)) continue;
    steps.push({
      id: `${desired.name}/addon.uninstall/${installed.name}`,
      kind: "addon.uninstall",
      state: "pending",
      addon: installed.name,
      addonKind: installed.kind,
      namespace: installed.namespace,
      summary:
        installed.kind === "helm"
          ? `uninstall Helm release ${installed.name}${installed.namespace ? ` from ${installed.namespace}` : ""} (removed from the spec)`
          : `delete the ${installed.objects.length} objects of ${installed.name} (removed from the spec)`,
    });
  }
  return steps;
}

function changedObjects(objects: readonly ObjectChange[]): { summaries: ObjectSummary[]; diff: string } {
  const changed = objects.filter((o): o is ObjectChange & { action: ObjectSummary["action"] } => o.action !== "unchanged");
  return {
    summaries: changed.map((o) => ({ id: o.id, action: o.action })),
    diff: changed.map((o) => o.diff).filter((d) => d !== "").join(""),
  };
}

function countText(summaries: readonly ObjectSummary[]): string {
  const creates = summaries.filter((s) => s.action !== "update").length;
  const updates = summaries.length - creates;
  const parts: string[] = [];
  if (creates > 0) parts.push(`${creates} to create`);
  if (updates > 0) parts.push(`${updates} to update`);
  return parts.join(", ");
}

function helmSteps(cluster: string, addon: DesiredAddon, seen: HelmAddonObservation): Step[] {
  const render = seen.render;
  const release = seen.release;
  if (!render.ok) {
    const reason = `${addon.name}: ${render.error}`;
    if (release === null) {
      return [{ id: `${cluster}/addon.install/${addon.name}`, kind: "addon.install", state: "blocked", reason, addon: addon.name, addonKind: "helm", objects: [], diff: "", summary: `install ${addon.name} (cannot render it)` }];
    }
    return [{
      id: `${cluster}/addon.upgrade/${addon.name}`,
      kind: "addon.upgrade",
      state: "blocked",
      reason,
      addon: addon.name,
      chart: release.chart,
      chartVersion: { from: release.chartVersion, to: release.chartVersion },
      valuesDiff: "",
      objects: [],
      diff: "",
      summary: `upgrade ${addon.name} (cannot render it)`,
    }];
  }
  const chart = render.chart ?? addon.name;
  const chartVersion = render.chartVersion ?? "";
  const { summaries, diff } = changedObjects(render.objects);
  if (release === null) {
    return [{
      id: `${cluster}/addon.install/${addon.name}`,
      kind: "addon.install",
      state: "pending",
      addon: addon.name,
      addonKind: "helm",
      chart,
      chartVersion,
      ...(render.chartDigest === undefined ? {} : { chartDigest: render.chartDigest }),
      objects: summaries,
      diff,
      summary: `install Helm chart ${chart} ${chartVersion} as ${addon.name} in ${seen.namespace} (${render.objects.length} objects)`,
    }];
  }
  const reasons: string[] = [];
  if (release.chartVersion !== chartVersion || release.chart !== chart) reasons.push(`chart ${release.chart} ${release.chartVersion} → ${chart} ${chartVersion}`);
  const valuesDiff = render.valuesDiff ?? "";
  if (valuesDiff !== "") reasons.push("values changed");
  if (summaries.length > 0) reasons.push(`objects drifted: ${countText(summaries)}`);
  if (release.status !== "deployed") reasons.push(`release is ${release.status}`);
  if (reasons.length === 0) return [];
  return [{
    id: `${cluster}/addon.upgrade/${addon.name}`,
    kind: "addon.upgrade",
    state: "pending",
    addon: addon.name,
    chart,
    chartVersion: { from: release.chartVersion, to: chartVersion },
    ...(render.chartDigest === undefined ? {} : { chartDigest: render.chartDigest }),
    valuesDiff,
    objects: summaries,
    diff,
    summary: `upgrade ${addon.name} (revision ${release.revision}): ${reasons.join("; ")}`,
  }];
}

function kustomizeSteps(cluster: string, addon: DesiredAddon, seen: KustomizeAddonObservation): Step[] {
  const render = seen.render;
  if (!render.ok) {
    const reason = `${addon.name}: ${render.error}`;
    return seen.applied
      ? [{ id: `${cluster}/addon.apply/${addon.name}`, kind: "addon.apply", state: "blocked", reason, addon: addon.name, objects: [], diff: "", summary: `apply ${addon.name} (cannot build it)` }]
      : [{ id: `${cluster}/addon.install/${addon.name}`, kind: "addon.install", state: "blocked", reason, addon: addon.name, addonKind: "kustomize", objects: [], diff: "", summary: `install ${addon.name} (cannot build it)` }];
  }
  const { summaries, diff } = changedObjects(render.objects);
  const steps: Step[] = [];
  if (!seen.applied) {
    steps.push({
      id: `${cluster}/addon.install/${addon.name}`,
      kind: "addon.install",
      state: "pending",
      addon: addon.name,
      addonKind: "kustomize",
      objects: summaries,
      diff,
      summary: `apply Kustomize overlay ${sourcePath(addon)} as ${addon.name} (${render.objects.length} objects${summaries.length < render.objects.length ? `, ${render.objects.length - summaries.length} already as desired` : ""})`,
    });
  } else if (summaries.length > 0) {
    steps.push({
      id: `${cluster}/addon.apply/${addon.name}`,
      kind: "addon.apply",
      state: "pending",
      addon: addon.name,
      objects: summaries,
      diff,
      summary: `apply ${addon.name}: ${countText(summaries)}`,
    });
  }
  if (render.prune.length > 0) {
    steps.push({
      id: `${cluster}/addon.prune/${addon.name}`,
      kind: "addon.prune",
      state: "pending",
      addon: addon.name,
      objects: [...render.prune],
      summary: `delete ${render.prune.length} object${render.prune.length === 1 ? "" : "s"} that left ${addon.name}: ${render.prune.join(", ")}`,
    });
  }
  return steps;
}

function sourcePath(addon: DesiredAddon): string {
  return addon.source.kind === "kustomize" ? addon.source.path : addon.name;
}
