/**
 * Cross-field rules: what a JSON Schema cannot say, or cannot say with a useful message. Three groups:
 *
 * - written rules run on each document as written (duplicate add-on names, exactly one of helm or
 *   kustomize) and collect the repository paths the spec names;
 * - fleet rules run on the Fleet document (unique wave and window names, selector requirements);
 * - merged rules run on each cluster after defaults are merged (a version must come from somewhere, odd
 *   control-plane and etcd member counts, add-on dependencies).
 *
 * Rules never throw: they record issues at the position of the node they are about and carry on, so the
 * user sees every problem in one run.
 */
import { checkChartRepoUrl, REPO_CHART_NAME } from "./chart-repo-url.js";
import { durationSeconds } from "./duration.js";
import type { Addon, ClusterSpec, FleetSpec, Selector } from "./generated.js";
import type { IssueCollector, SourcePosition } from "./issues.js";
import { DEFAULT_REPO_POLICY, type RepoPolicy } from "./repo-policy.js";
import type { Segment, SourceMap } from "./yaml.js";

/** A repository path named in the spec, to be checked for containment and existence. */
export interface PathRef {
  kind: "chart" | "values" | "kustomization" | "script";
  written: string;
  at: SourcePosition;
  /** For a local chart: the version the spec pins, which must match Chart.yaml. */
  version?: string;
}

/** What every rule needs: where nodes are, and where to put issues. */
export interface RuleContext {
  sources: SourceMap;
  issues: IssueCollector;
  /** The operator's allowances for what the fleet may reference (default: {@link DEFAULT_REPO_POLICY}). */
  policy?: RepoPolicy;
}

function at(ctx: RuleContext, root: object, path: readonly Segment[], fallback: SourcePosition, key = false): SourcePosition {
  return ctx.sources.locate(root, path, { key }) ?? fallback;
}

/** Rules on one written cluster spec (a Cluster's spec, or the Fleet's defaults). Returns the paths it names. */
export function checkWrittenSpec(spec: ClusterSpec, fallback: SourcePosition, ctx: RuleContext): PathRef[] {
  const refs: PathRef[] = [];
  const kubeconfig = spec.connection?.kubeconfig;
  if (kubeconfig && (kubeconfig.path === undefined) === (kubeconfig.env === undefined)) {
    ctx.issues.error(
      at(ctx, spec, ["connection", "kubeconfig"], fallback),
      `kubeconfig needs exactly one of path or env${kubeconfig.path !== undefined ? " (found both)" : ""}`,
    );
  }
  const upgradeScript = spec.provider?.kubeadm?.upgradeScript;
  if (upgradeScript !== undefined) {
    refs.push({ kind: "script", written: upgradeScript, at: at(ctx, spec, ["provider", "kubeadm", "upgradeScript"], fallback) });
  }
  const firstByName = new Map<string, SourcePosition>();
  (spec.addons ?? []).forEach((addon, i) => {
    const nameAt = at(ctx, spec, ["addons", i, "name"], fallback);
    const first = firstByName.get(addon.name);
    if (first) ctx.issues.error(nameAt, `add-on "${addon.name}" is defined twice (first at line ${first.line})`);
    else firstByName.set(addon.name, nameAt);
    refs.push(...checkWrittenAddon(addon, spec, i, fallback, ctx));
  });
  return refs;
}

function checkWrittenAddon(addon: Addon, spec: ClusterSpec, i: number, fallback: SourcePosition, ctx: RuleContext): PathRef[] {
  const refs: PathRef[] = [];
  if (addon.enabled !== false && (addon.helm === undefined) === (addon.kustomize === undefined)) {
    const found = addon.helm ? " (found both)" : " (found neither)";
    ctx.issues.error(at(ctx, spec, ["addons", i], fallback), `add-on "${addon.name}" needs exactly one of helm or kustomize${found}`);
  }
  const helm = addon.helm;
  if (helm) {
    if (helm.repo !== undefined) {
      const repoAt = at(ctx, spec, ["addons", i, "helm", "repo"], fallback);
      for (const problem of checkChartRepoUrl(helm.repo, ctx.policy ?? DEFAULT_REPO_POLICY).problems) ctx.issues.error(repoAt, problem);
      // With a repository, `chart` is a name there: no path, tag or digest may ride along with it (an OCI
      // `name@sha256:…` would pull that digest and ignore the pinned version).
      if (!REPO_CHART_NAME.test(helm.chart)) {
        ctx.issues.error(
          at(ctx, spec, ["addons", i, "helm", "chart"], fallback),
          `with repo, chart is the chart's name in the repository: letters, digits, '.', '_' and '-', starting with a letter or digit (found ${JSON.stringify(helm.chart.slice(0, 80))})`,
        );
      }
    }
    if (helm.repo === undefined) {
      refs.push({ kind: "chart", written: helm.chart, at: at(ctx, spec, ["addons", i, "helm", "chart"], fallback), ...(helm.version ? { version: helm.version } : {}) });
    }
    (helm.valuesFiles ?? []).forEach((file, j) => {
      refs.push({ kind: "values", written: file, at: at(ctx, spec, ["addons", i, "helm", "valuesFiles", j], fallback) });
    });
  }
  if (addon.kustomize) {
    refs.push({ kind: "kustomization", written: addon.kustomize.path, at: at(ctx, spec, ["addons", i, "kustomize", "path"], fallback) });
  }
  return refs;
}

/**
 * Receiver names are unique across both forms (`webhooks` and `receivers`), because deliveries are
 * remembered by receiver name; a signing key means something only to a generic webhook; a repeat interval
 * of 0s would send every alert on every tick.
 */
function checkAlerting(spec: FleetSpec, fallback: SourcePosition, ctx: RuleContext): void {
  const alerting = spec.alerting ?? {};
  const legacy = alerting.webhooks ?? [];
  const receivers = alerting.receivers ?? [];
  const named = [...legacy.map((w, i) => ({ name: w.name, path: ["alerting", "webhooks", i, "name"] as Segment[] })), ...receivers.map((r, i) => ({ name: r.name, path: ["alerting", "receivers", i, "name"] as Segment[] }))];
  uniqueNames(named, "alert receiver", (i) => at(ctx, spec, named[i]?.path ?? ["alerting"], fallback), ctx);
  receivers.forEach((r, i) => {
    if (r.secretFromEnv !== undefined && r.type !== "webhook") {
      ctx.issues.error(at(ctx, spec, ["alerting", "receivers", i, "secretFromEnv"], fallback), `receiver "${r.name}" is of type ${r.type}: only a webhook receiver signs its payload with secretFromEnv`);
    }
  });
  if (alerting.repeatInterval !== undefined && durationSeconds(alerting.repeatInterval) === 0) {
    ctx.issues.error(at(ctx, spec, ["alerting", "repeatInterval"], fallback), "alerting.repeatInterval must be longer than 0s");
  }
}

/** Rules on the Fleet document's spec; only sections that passed the schema (`usable`) are checked. */
export function checkFleetSpec(
  spec: FleetSpec,
  fallback: SourcePosition,
  ctx: RuleContext,
  usable: { rollout: boolean; windows: boolean; alerting: boolean },
): void {
  const waves = usable.rollout ? (spec.rollout?.waves ?? []) : [];
  const windows = usable.windows ? (spec.windows ?? []) : [];
  uniqueNames(waves, "wave", (i) => at(ctx, spec, ["rollout", "waves", i, "name"], fallback), ctx);
  uniqueNames(windows, "window", (i) => at(ctx, spec, ["windows", i, "name"], fallback), ctx);
  if (usable.alerting) checkAlerting(spec, fallback, ctx);
  waves.forEach((wave, i) => {
    checkSelector(wave.selector, ["rollout", "waves", i, "selector"], spec, fallback, ctx);
  });
  windows.forEach((window, i) => {
    if (window.selector) checkSelector(window.selector, ["windows", i, "selector"], spec, fallback, ctx);
    if (durationSeconds(window.duration) === 0) ctx.issues.error(at(ctx, spec, ["windows", i, "duration"], fallback), `window "${window.name}" must stay open for longer than 0s`);
  });
}

function uniqueNames(items: readonly { name: string }[], what: string, position: (i: number) => SourcePosition, ctx: RuleContext): void {
  const first = new Map<string, SourcePosition>();
  items.forEach((item, i) => {
    const here = position(i);
    const earlier = first.get(item.name);
    if (earlier) ctx.issues.error(here, `${what} name "${item.name}" is used twice (first at line ${earlier.line})`);
    else first.set(item.name, here);
  });
}

function checkSelector(selector: Selector, path: Segment[], root: object, fallback: SourcePosition, ctx: RuleContext): void {
  (selector.matchExpressions ?? []).forEach((requirement, i) => {
    const here = at(ctx, root, [...path, "matchExpressions", i], fallback);
    const count = requirement.values?.length ?? 0;
    if ((requirement.operator === "In" || requirement.operator === "NotIn") && count === 0) {
      ctx.issues.error(here, `operator ${requirement.operator} needs at least one value`);
    }
    if ((requirement.operator === "Exists" || requirement.operator === "DoesNotExist") && requirement.values !== undefined) {
      ctx.issues.error(here, `operator ${requirement.operator} takes no values`);
    }
  });
}

/** Rules on one cluster's spec after the defaults are merged. `clusterAt` is the position of its metadata.name. */
export function checkMergedSpec(cluster: string, spec: ClusterSpec, clusterAt: SourcePosition, ctx: RuleContext): void {
  const where = (path: Segment[]): SourcePosition => at(ctx, spec, path, clusterAt);
  if (spec.kubernetes?.version === undefined) ctx.issues.error(clusterAt, `cluster "${cluster}" has no kubernetes.version, and the fleet's defaults set none`);
  if (spec.connection === undefined) ctx.issues.error(clusterAt, `cluster "${cluster}" has no connection (context or kubeconfig), and the fleet's defaults set none`);
  if (spec.provider === undefined) ctx.issues.error(clusterAt, `cluster "${cluster}" has no provider (kubeadm or clusterAPI), and the fleet's defaults set none`);

  const replicas = spec.topology?.controlPlane?.replicas ?? 1;
  if (replicas % 2 === 0) {
    ctx.issues.error(where(["topology", "controlPlane", "replicas"]), `control-plane replicas must be odd (1, 3, 5, …) so etcd keeps quorum, not ${replicas}`);
  }
  const zones = spec.topology?.controlPlane?.zones ?? [];
  if (zones.length > replicas) {
    ctx.issues.warning(where(["topology", "controlPlane", "zones"]), `${zones.length} zones for ${replicas} control-plane node${replicas === 1 ? "" : "s"}: some zones get none`);
  }
  const etcd = spec.topology?.etcd;
  if (etcd) {
    const endpoints = etcd.endpoints;
    if (etcd.mode === "external") {
      if (endpoints === undefined || endpoints.length === 0) ctx.issues.error(where(["topology", "etcd"]), "external etcd needs endpoints");
      else if (endpoints.length % 2 === 0) {
        ctx.issues.error(where(["topology", "etcd", "endpoints"]), `external etcd needs an odd number of members to keep quorum, not ${endpoints.length}`);
      }
    } else if (endpoints !== undefined) {
      ctx.issues.error(where(["topology", "etcd", "endpoints"]), "endpoints are only for etcd mode external; stacked etcd runs on the control-plane nodes");
    }
  }
  const backup = spec.backup?.etcd;
  if (backup && backup.enabled !== false && backup.schedule === undefined) {
    ctx.issues.error(where(["backup", "etcd"]), "etcd backups need a schedule (or enabled: false)");
  }
  checkIntermediateVersions(spec, where, ctx);
  checkDependencies(spec, where, ctx);
}

/** `upgrade.intermediateVersions`: one entry per minor, each a minor the ladder can pass through on the way. */
function checkIntermediateVersions(spec: ClusterSpec, where: (path: Segment[]) => SourcePosition, ctx: RuleContext): void {
  const desired = spec.kubernetes?.version;
  const minorOf = (version: string): [number, number] => {
    const [major, minor] = version.split(".").map(Number);
    return [major ?? 0, minor ?? 0];
  };
  const firstByMinor = new Map<string, SourcePosition>();
  (spec.upgrade?.intermediateVersions ?? []).forEach((version, i) => {
    const entryAt = where(["upgrade", "intermediateVersions", i]);
    const [major, minor] = minorOf(version);
    const first = firstByMinor.get(`${major}.${minor}`);
    if (first) {
      ctx.issues.error(entryAt, `upgrade.intermediateVersions names ${major}.${minor} twice (first at line ${first.line}): one version per minor`);
      return;
    }
    firstByMinor.set(`${major}.${minor}`, entryAt);
    if (desired === undefined) return;
    const [wantMajor, wantMinor] = minorOf(desired);
    if (major !== wantMajor || minor >= wantMinor) {
      ctx.issues.error(
        entryAt,
        `upgrade.intermediateVersions entry ${version} is not below the desired version's minor (${wantMajor}.${wantMinor}, from kubernetes.version ${desired}): only the minors the ladder passes through can be chosen`,
      );
    }
  });
}

function checkDependencies(spec: ClusterSpec, where: (path: Segment[]) => SourcePosition, ctx: RuleContext): void {
  const addons = spec.addons ?? [];
  const enabled = new Map<string, Addon>();
  const disabled = new Set<string>();
  for (const addon of addons) {
    if (addon.enabled === false) disabled.add(addon.name);
    else enabled.set(addon.name, addon);
  }
  addons.forEach((addon, i) => {
    if (addon.enabled === false) return;
    (addon.dependsOn ?? []).forEach((dependency, j) => {
      const here = where(["addons", i, "dependsOn", j]);
      if (dependency === addon.name) ctx.issues.error(here, `add-on "${addon.name}" depends on itself`);
      else if (disabled.has(dependency)) ctx.issues.error(here, `add-on "${addon.name}" depends on "${dependency}", which is disabled in this cluster`);
      else if (!enabled.has(dependency)) ctx.issues.error(here, `add-on "${addon.name}" depends on "${dependency}", which this cluster does not have`);
    });
  });
  for (const cycle of findCycles(enabled)) {
    const index = addons.findIndex((a) => a.name === cycle[0]);
    ctx.issues.error(where(["addons", index, "dependsOn"]), `add-on dependencies form a cycle: ${[...cycle, cycle[0]].join(" → ")}`);
  }
}

/** Every dependency cycle once, each starting at its smallest name, so messages are stable. */
function findCycles(addons: ReadonlyMap<string, Addon>): string[][] {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, "active" | "done">();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, "active");
    stack.push(name);
    for (const next of addons.get(name)?.dependsOn ?? []) {
      if (next === name || !addons.has(next)) continue;
      if (state.get(next) === "active") {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0] ?? next);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join("\u0000"), rotated);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const name of addons.keys()) if (!state.has(name)) visit(name);
  return [...cycles.values()];
}
