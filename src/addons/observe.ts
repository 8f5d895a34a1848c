/**
 * Observes the add-ons of one cluster for the planner: what bosun installed (its inventory), the Helm
 * releases, and for each desired add-on its render compared object by object with the live cluster.
 *
 * Two phases, counted apart:
 * - **observe** — a fixed number of requests per cluster, whatever the number of add-ons: one LIST of
 *   Helm's release records, one GET of the inventory, and (only when a Helm add-on is desired and the caller
 *   did not say) the cluster's version and API groups for the render's `.Capabilities`.
 * - **diff** — per rendered object a live GET and a server-side apply dry-run (plus discovery, cached per
 *   group/version), run with limited concurrency.
 *
 * One add-on that cannot be rendered or dry-run becomes `render: {ok: false, error}` and the others go on;
 * an `UnreachableError` ends the whole observation (the caller marks the cluster unreachable). Every text
 * that leaves this module — diffs and errors — was built from masked objects and values (`src/report/
 * mask.ts`), and is in addition scrubbed of the secret values bosun knows (the environment's secret values
 * and the release's values at secret paths), in case a chart copies one into a field that is not secret.
 */
import { createTwoFilesPatch } from "diff";
import { stringify } from "yaml";
import { FIELD_MANAGER } from "../constants.js";
import { BosunError, InternalError, ProcessError, ToolNotFoundError } from "../errors.js";
import { UnreachableError, type KubeObject, type KubeRest } from "../kube/rest.js";
import type { AddonObservation, HelmAddonObservation, KustomizeAddonObservation, ObjectChange, ObservedAddons } from "../plan/observed.js";
import { MASKED, maskValues, maskValuesPair } from "../diff/mask.js";
import { scrubSecrets } from "../scrub.js";
import type { DesiredAddon, DesiredCluster, HelmChartSource } from "../spec/types.js";
import { compareObject } from "./compare.js";
import { inventoryId, pruneList, readInventoryEntries, toInstalledAddon, type InventoryEntry } from "./inventory.js";
import { listHelmReleases, type HelmReleaseRecord } from "./releases.js";
import { helmNamespace, renderAddon, type RenderOptions } from "./render.js";

/** Field manager of Helm 4's server-side apply (Helm 3 updates as `helm` too). */
export const HELM_FIELD_MANAGER = "helm";

/** How to observe. */
export interface ObserveAddonsOptions extends RenderOptions {
  /** Object comparisons in flight at once, across add-ons (default 8). */
  concurrency?: number;
  /** helm/kustomize processes running at once (default 2). */
  renderConcurrency?: number;
  /**
   * The versions the cluster's control-plane rungs go to, when an upgrade is pending: each Helm add-on is
   * rendered again for each (`helm template --kube-version`), so a chart whose `kubeVersion` constraint or
   * templates refuse a target blocks that rung at plan time instead of failing after it.
   */
  upgradeTargets?: readonly string[];
}

/** The add-ons of one cluster as observed, and the API requests that took. */
export interface AddonsObserved {
  observed: ObservedAddons;
  /** The fixed per-cluster reads: release LIST, inventory GET, and the render's capabilities. */
  observeRequests: number;
  /** Discovery, live GETs and dry-runs of the rendered objects. */
  diffRequests: number;
}

/**
 * Observes every desired add-on of `cluster` through `rest` (one `KubeRest` per cluster and run). `fleetDir`
 * is the fleet checkout the spec's paths are relative to; `env` holds the secret values' variables. Only
 * this call's own requests are counted, even when other observers share `rest` at the same time.
 */
export async function observeAddons(
  rest: KubeRest,
  cluster: Pick<DesiredCluster, "name" | "addons">,
  fleetDir: string,
  env: Readonly<Record<string, string | undefined>>,
  options: ObserveAddonsOptions = {},
): Promise<AddonsObserved> {
  const counted = countingView(rest);
  const wantsHelm = cluster.addons.some((a) => a.source.kind === "helm");
  const [releases, inventory, capabilities] = await Promise.all([
    listHelmReleases(counted.rest),
    readInventoryEntries(counted.rest),
    wantsHelm ? readCapabilities(counted.rest, options) : Promise.resolve({}),
  ]);
  const observeRequests = counted.count();

  const renderOptions: RenderOptions = { ...options, ...capabilities };
  const compareSlots = limiter(options.concurrency ?? 8);
  const renderSlots = limiter(options.renderConcurrency ?? 2);
  const upgradeTargets = options.upgradeTargets ?? [];
  const context: AddonContext = { rest: counted.rest, fleetDir, env, inventory, releases, renderOptions, compareSlots, renderSlots, upgradeTargets };
  const settled = await Promise.allSettled(cluster.addons.map((addon) => observeAddon(context, addon)));
  const desired: AddonObservation[] = [];
  for (const result of settled) {
    if (result.status === "rejected") throw result.reason;
    desired.push(result.value);
  }
  return {
    observed: { installed: inventory.map(toInstalledAddon), desired },
    observeRequests,
    diffRequests: counted.count() - observeRequests,
  };
}

/**
 * A view of `rest` that counts the requests made through it: every request of a `KubeRest` goes through
 * its `send`, so the view overrides `send` and shares everything else (the discovery cache, the total
 * `requests` counter) with `rest` through the prototype chain.
 */
function countingView(rest: KubeRest): { rest: KubeRest; count: () => number } {
  let count = 0;
  const view = Object.create(rest) as KubeRest;
  view.send = (request) => {
    count += 1;
    return rest.send(request);
  };
  return { rest: view, count: () => count };
}

/** What every add-on's observation shares. */
interface AddonContext {
  rest: KubeRest;
  fleetDir: string;
  env: Readonly<Record<string, string | undefined>>;
  inventory: InventoryEntry[];
  releases: HelmReleaseRecord[];
  renderOptions: RenderOptions;
  compareSlots: Limiter;
  renderSlots: Limiter;
  upgradeTargets: readonly string[];
}

async function observeAddon(context: AddonContext, addon: DesiredAddon): Promise<AddonObservation> {
  return addon.source.kind === "helm" ? observeHelm(context, addon, addon.source) : observeKustomize(context, addon);
}

async function observeHelm(context: AddonContext, addon: DesiredAddon, source: HelmChartSource): Promise<HelmAddonObservation> {
  const namespace = helmNamespace(addon);
  const record = context.releases.find((r) => r.name === addon.name && r.namespace === namespace);
  const release = record ? { revision: record.revision, status: record.status, chart: record.chart, chartVersion: record.chartVersion } : null;
  const entry = context.inventory.find((e) => e.name === addon.name);
  const secretPaths = uniquePaths([...source.secretValues.map((s) => s.path), ...(entry?.kind === "helm" ? entry.secretPaths : [])]);
  // Secret strings known before rendering: the environment's and the release's, for scrubbing messages.
  const secrets = [
    ...source.secretValues.map((s) => context.env[s.env]).filter((v): v is string => v !== undefined),
    ...(record ? secretPaths.flatMap((p) => stringsAt(record.config, p)) : []),
  ];
  const base = { name: addon.name, kind: "helm" as const, namespace, release };
  if (record?.error !== undefined) return { ...base, render: { ok: false, error: record.error } };
  try {
    const rendered = await context.renderSlots(() => renderAddon(context.rest, addon, context.fleetDir, context.env, context.renderOptions));
    if (rendered.kind !== "helm") throw new InternalError("a Helm add-on rendered as Kustomize");
    const objects = await compareAll(context, rendered.objects, HELM_FIELD_MANAGER);
    const valuesDiff = diffValues(record?.config ?? {}, rendered.values, secretPaths, record !== undefined);
    const scrubbed = objects.map((o) => ({ ...o, diff: scrubText(o.diff, [...secrets, ...rendered.secrets]) }));
    const refusals = await targetRefusals(context, addon, secrets);
    return {
      ...base,
      ...(refusals.length > 0 ? { targetRefusals: refusals } : {}),
      render: {
        ok: true,
        objects: scrubbed,
        prune: [],
        chart: rendered.chart,
        chartVersion: rendered.chartVersion,
        ...(rendered.chartDigest === undefined ? {} : { chartDigest: rendered.chartDigest }),
        valuesDiff: valuesDiff === null ? null : scrubText(valuesDiff, [...secrets, ...rendered.secrets]),
      },
    };
  } catch (error) {
    return { ...base, render: { ok: false, error: failureMessage(error, addon, secrets) } };
  }
}

/** The upgrade targets `addon`'s chart does not render for, each with helm's message (scrubbed). */
async function targetRefusals(context: AddonContext, addon: DesiredAddon, secrets: readonly string[]): Promise<{ version: string; error: string }[]> {
  const refusals: { version: string; error: string }[] = [];
  for (const version of context.upgradeTargets) {
    try {
      await context.renderSlots(() => renderAddon(context.rest, addon, context.fleetDir, context.env, { ...context.renderOptions, kubeVersion: `v${version}` }));
    } catch (error) {
      // failureMessage rethrows what is not this add-on's problem (unreachable cluster, missing helm).
      refusals.push({ version, error: oneLine(failureMessage(error, addon, secrets)) });
    }
  }
  return refusals;
}

/** helm's message on one line, without its advice to re-run with --debug (a plan reason is one line). */
function oneLine(message: string): string {
  return message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("Use --debug"))
    .join(" ");
}

async function observeKustomize(context: AddonContext, addon: DesiredAddon): Promise<KustomizeAddonObservation> {
  const entry = context.inventory.find((e) => e.name === addon.name);
  const applied = entry?.kind === "kustomize";
  // An entry marked incomplete is an apply nobody saw finish (interrupted, or its workloads never became
  // ready): not applied yet as far as the plan goes, so it is applied (and its health waited for) again,
  // even when every object already matches.
  const base = { name: addon.name, kind: "kustomize" as const, applied: applied && entry.incomplete !== true };
  try {
    const rendered = await context.renderSlots(() => renderAddon(context.rest, addon, context.fleetDir, context.env, context.renderOptions));
    const objects = await compareAll(context, rendered.objects, FIELD_MANAGER);
    const prune = applied ? pruneList(entry.objects.map((o) => o.id), rendered.objects.map(inventoryId)) : [];
    return { ...base, render: { ok: true, objects, prune } };
  } catch (error) {
    return { ...base, render: { ok: false, error: failureMessage(error, addon, []) } };
  }
}

/** Compares every object with the live cluster, at most `compareSlots` at a time; results in input order. */
async function compareAll(context: AddonContext, objects: readonly KubeObject[], fieldManager: string): Promise<ObjectChange[]> {
  const settled = await Promise.allSettled(objects.map((object) => context.compareSlots(() => compareObject(context.rest, object, fieldManager))));
  // Unreachable wins over any other failure: it decides the fate of the whole cluster.
  const unreachable = settled.find((r) => r.status === "rejected" && r.reason instanceof UnreachableError);
  if (unreachable?.status === "rejected") throw unreachable.reason;
  return settled.map((result) => {
    if (result.status === "rejected") throw result.reason;
    return result.value;
  });
}

/**
 * The masked unified diff of a release's user-supplied values and the desired values, null when equal.
 * Without a release (`hasRelease` false) every desired value is new: the diff adds them all to an empty
 * file (null when there are none). Values at `secretPaths` are masked on both sides first.
 */
export function diffValues(
  release: Record<string, unknown>,
  desired: Record<string, unknown>,
  secretPaths: readonly (readonly string[])[],
  hasRelease = true,
): string | null {
  let before = "";
  let after: string;
  if (hasRelease) {
    const masked = maskValuesPair(release, desired, secretPaths);
    before = toYaml(masked.before);
    after = toYaml(masked.after ?? {});
    if (before === after) return null;
  } else {
    if (Object.keys(desired).length === 0) return null;
    after = toYaml(maskValues(desired, secretPaths));
  }
  const patch = createTwoFilesPatch(hasRelease ? "release/values.yaml" : "/dev/null", "desired/values.yaml", before, after, undefined, undefined, { context: 3 });
  return patch.replace(/^=+\n/, "");
}

function toYaml(value: unknown): string {
  return stringify(value, { sortMapEntries: true, lineWidth: 0 });
}

/**
 * The text of a failed add-on: the error's own message (a `BosunError`'s messages never quote secret
 * values, and the API server's answers about Secrets are reduced to their reason by `KubeRest`), scrubbed of
 * known secret values. Anything that is not a `BosunError` is a bug and says so (naming `activity`, what
 * bosun was doing with the add-on). Unreachable propagates. Shared with the apply verbs
 * (`helm-apply.ts`), so that plan and apply withhold the same things.
 */
export function failureMessage(error: unknown, addon: DesiredAddon, secrets: readonly string[], activity = "observing"): string {
  // Not this add-on's problem: the cluster is unreachable, or this machine lacks helm or kustomize.
  if (error instanceof UnreachableError || error instanceof ToolNotFoundError) throw error;
  if (error instanceof ProcessError && addon.source.kind === "helm" && addon.source.secretValues.length > 0) {
    // helm's own words may quote a rendered value in any quoting (%q, toJson, YAML), which scrubbing by
    // exact match would miss: for an add-on with secret values only the template location is kept.
    const at = /(?:template: |execution error at \()([^\s:()]+:\d+:\d+)/.exec(error.stderr)?.[1];
    return `${error.tool} ${error.timedOut ? "timed out" : `failed (exit code ${String(error.exitCode ?? "none")})`}${at ? ` at ${at}` : ""}; its message is not shown because ${addon.name} has secret values (run \`helm template\` yourself to see it)`;
  }
  const message =
    error instanceof BosunError
      ? error.message
      : `internal error (a bug in bosun) while ${activity} add-on ${addon.name}: ${error instanceof Error ? error.name : "non-Error value"}`;
  return scrubText(message, secrets);
}

/**
 * Replaces every known secret string in `text` by {@link MASKED}, with every encoding a chart could turn
 * it into (base64, base64 of base64, hex, URL-encoding…: `src/scrub.ts`).
 */
function scrubText(text: string, secrets: readonly string[]): string {
  return scrubSecrets(text, secrets.filter((s) => s.length >= MIN_SCRUB_LENGTH), MASKED);
}

/** Shorter secrets are not scrubbed from text: replacing every "admin" or "1" would mangle the output and, by what disappears, reveal the value. Structural masking still covers them. */
const MIN_SCRUB_LENGTH = 8;

/** String leaves at `path` in a values tree (a secret path can hold a string or, rarely, a structure). */
function stringsAt(tree: Record<string, unknown>, path: readonly string[]): string[] {
  let node: unknown = tree;
  for (const key of path) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return [];
    node = (node as Record<string, unknown>)[key];
  }
  const out: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === "string") out.push(value);
    else if (typeof value === "number") out.push(String(value));
    else if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === "object" && value !== null) Object.values(value).forEach(collect);
  };
  collect(node);
  return out;
}

function uniquePaths(paths: readonly (readonly string[])[]): string[][] {
  return [...new Map(paths.map((p) => [JSON.stringify(p), [...p]])).values()];
}

/**
 * The cluster's version and API groups for the render's `.Capabilities` (as `helm upgrade` would see them),
 * unless the caller gave them: at most two requests per cluster.
 */
export async function readCapabilities(rest: KubeRest, options: RenderOptions): Promise<Pick<RenderOptions, "kubeVersion" | "apiVersions">> {
  const [version, groups] = await Promise.all([
    options.kubeVersion === undefined ? rest.get<{ gitVersion?: string }>("/version") : Promise.resolve(null),
    options.apiVersions === undefined ? rest.get<{ groups?: { versions?: { groupVersion?: string }[] }[] }>("/apis") : Promise.resolve(null),
  ]);
  const kubeVersion = options.kubeVersion ?? version?.gitVersion?.split(/[+-]/)[0];
  const apiVersions =
    options.apiVersions ?? ["v1", ...(groups?.groups ?? []).flatMap((g) => (g.versions ?? []).map((v) => v.groupVersion ?? "")).filter((v) => v !== "")].sort();
  return { ...(kubeVersion ? { kubeVersion } : {}), apiVersions };
}

/** Runs at most `n` tasks at once. */
type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

function limiter(n: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    // A finishing task hands its slot straight to the next waiter, so `active` never exceeds `n`.
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else active += 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}
