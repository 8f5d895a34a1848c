/**
 * Renders one desired add-on into the Kubernetes objects it consists of, exactly as they would be applied:
 *
 * - **Helm**: values = the values files (in order, deep-merged), then the inline `values`, then every
 *   `secretValues` entry read from the environment; written to a private temp file for `helm template`.
 *   Objects get the ownership metadata `helm upgrade` adds (`app.kubernetes.io/managed-by: Helm` and the
 *   `meta.helm.sh/release-*` annotations), because Helm 4 server-side applies them as field manager `helm`:
 *   a dry-run without them would show them as removed. CRDs from the chart's `crds/` directory get none
 *   (Helm creates those as they are). No `bosun.dev/addon` label: Helm owns these objects.
 * - **Kustomize**: `kustomize build <fleetDir>/<path>`; every object gets the label `bosun.dev/addon=<name>`
 *   (ARCHITECTURE invariant 5), and when the add-on names a namespace, every namespaced object is put in it.
 *
 * Namespaces are made explicit so that identities are true: a namespaced object without one is put in the
 * release namespace (Helm) or `default` (Kustomize without a namespace); a cluster-scoped object loses a
 * namespace it should not carry. Whether a kind is namespaced comes from the cluster's discovery, else from
 * a CRD in the same render; a kind neither knows keeps what it has. Objects are sorted CRDs first,
 * then Namespaces, then the rest in render order (the apply order).
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments, type Tags } from "yaml";
import { describeYamlProblem, parseSingleYaml } from "../bounded-yaml.js";
import { ADDON_LABEL, MANAGED_BY_LABEL } from "../constants.js";
import { BosunError } from "../errors.js";
import type { KubeObject, KubeRest } from "../kube/rest.js";
import { DEFAULT_REPO_POLICY, type RepoPolicy } from "../spec/repo-policy.js";
import type { DesiredAddon, HelmChartSource } from "../spec/types.js";
import { helmTemplate, resolveTool, type HelmOptions } from "../tools/helm.js";
import { kustomizeBuild, type KustomizeOptions } from "../tools/kustomize.js";
import { chartFetcherFor, type ChartFetcher } from "../source/chart-fetch.js";
import { ChartFetchError, type FetchedChart } from "../source/chart-fetch-error.js";
import { chartRepoFetchProblem } from "./chart-repo-guard.js";
import { countRenderSpawn, renderKey, secretDigest, type RenderCache, type RenderTool } from "./render-cache.js";
import { inventoryId } from "./inventory.js";

/** Label `helm upgrade --install` puts on every object of a release (value `Helm`). */
export const HELM_MANAGED_BY_LABEL = MANAGED_BY_LABEL;
/** Annotation `helm upgrade --install` puts on every object of a release: the release name. */
export const HELM_RELEASE_NAME_ANNOTATION = "meta.helm.sh/release-name";
/** Annotation `helm upgrade --install` puts on every object of a release: the release namespace. */
export const HELM_RELEASE_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace";

/** An add-on could not be rendered. The message never carries a secret value. */
export class AddonRenderError extends BosunError {
  readonly addon: string;
  constructor(addon: string, message: string, cause?: unknown) {
    super(message, { reason: "RenderFailed", phase: "render", ...(cause === undefined ? {} : { cause }) });
    this.addon = addon;
  }
}

/** Where the programs are and what the render may assume about the cluster. */
export interface RenderOptions {
  /** The helm executable (else BOSUN_HELM, else `helm` on PATH). */
  helm?: string;
  /** The kustomize executable (else BOSUN_KUSTOMIZE, else `kustomize` on PATH). */
  kustomize?: string;
  /** Time one helm or kustomize run may take. */
  timeoutMs?: number;
  /** The cluster's Kubernetes version for `.Capabilities.KubeVersion` (e.g. `1.34.4`). */
  kubeVersion?: string;
  /** API versions the cluster serves, for `.Capabilities.APIVersions`. */
  apiVersions?: readonly string[];
  /**
   * Outputs of `helm template`/`kustomize build` by a content hash of everything they depend on
   * (`render-cache.ts`): shared by the clusters of one plan — a fleet usually installs the same chart with
   * the same values, or the same overlay, in many clusters — and, with the process's cache, by every plan
   * of a daemon. Without one every render runs its program.
   */
  renderCache?: RenderCache;
  /**
   * The operator's allowances for chart repositories, applied again right before helm fetches (with the
   * host name resolved); default {@link DEFAULT_REPO_POLICY}: public hosts only.
   */
  repoPolicy?: RepoPolicy;
  /** Stops helm or kustomize when it aborts (the run's signal during an apply). */
  signal?: AbortSignal;
  /**
   * Fetches charts from HTTP(S) repositories for this run (one index request per repository per run);
   * without one, each render makes its own, with the policy's credentials.
   */
  charts?: ChartFetcher;
}

export type { RenderCache } from "./render-cache.js";

/** Version of the key's layout: a change to what goes into it must not meet keys of the old layout. */
const KEY_LAYOUT = 1;

/**
 * Runs `render` (one `tool` process) unless `cache` holds the output for the key `inputs` computes;
 * `inputs` gives null for an input that cannot be hashed (then it always runs). Without a cache it runs.
 */
async function cachedRender(
  cache: RenderCache | undefined,
  tool: RenderTool,
  inputs: (cache: RenderCache) => Promise<unknown>,
  render: () => Promise<string>,
): Promise<string> {
  const spawn = (): Promise<string> => {
    countRenderSpawn(tool);
    return render();
  };
  if (!cache) return spawn();
  const parts = await inputs(cache);
  return cache.render(parts === null ? null : renderKey(parts), spawn);
}

/** The operator's allowances that decide what a render may fetch, for the key. */
function policyKey(policy: RepoPolicy): unknown {
  return { charts: policy.allowedChartRepos, internal: policy.allowInternalChartRepos, remoteKustomize: policy.allowRemoteKustomize };
}

/** A rendered Helm add-on: its objects, the values it was rendered with and the chart it came from. */
export interface RenderedHelmAddon {
  kind: "helm";
  objects: KubeObject[];
  /** Every user-supplied value, secret values included (mask before showing). */
  values: Record<string, unknown>;
  /** Chart.yaml `name` and `version` (a repo chart: its name and the pinned version). */
  chart: string;
  chartVersion: string;
  /** The secret values taken from the environment, so that messages can be scrubbed of them. */
  secrets: string[];
  /** A chart from an HTTP(S) repository: the SHA-256 of the archive rendered, and the archive in bosun's cache. */
  chartDigest?: string;
  chartFile?: string;
}

/** A rendered Kustomize add-on. */
export interface RenderedKustomizeAddon {
  kind: "kustomize";
  objects: KubeObject[];
}

/** One rendered add-on. */
export type RenderedAddon = RenderedHelmAddon | RenderedKustomizeAddon;

/**
 * Renders one add-on against one cluster (the cluster is asked only which kinds it serves and whether they
 * are namespaced). `fleetDir` is the fleet checkout every path of the spec is relative to (the spec loader
 * already checked that none leaves it); `env` holds the environment secret values are read from.
 */
export async function renderAddon(
  rest: KubeRest,
  addon: DesiredAddon,
  fleetDir: string,
  env: Readonly<Record<string, string | undefined>>,
  options: RenderOptions = {},
): Promise<RenderedAddon> {
  const source = addon.source;
  if (source.kind === "helm") return renderHelm(rest, addon, source, fleetDir, env, options);
  const dir = path.resolve(fleetDir, ...source.path.split("/"));
  const kustomizeOptions: KustomizeOptions = { ...pick(options, "kustomize"), ...pick(options, "timeoutMs"), ...pick(options, "signal") };
  const text = await cachedRender(
    options.renderCache,
    "kustomize",
    async (cache) => {
      const [tree, tool] = await Promise.all([cache.kustomizationDigest(fleetDir, dir), resolveTool("kustomize", options.kustomize).then((file) => cache.executableIdentity(file))]);
      return tree === null ? null : ["kustomize", KEY_LAYOUT, tool, tree, policyKey(options.repoPolicy ?? DEFAULT_REPO_POLICY)];
    },
    () => kustomizeBuild(dir, kustomizeOptions),
  );
  const parsed = parseManifests(text, addon.name, `kustomize build ${source.path}`);
  const objects = parsed.map((p) => p.object);
  const namespace = addon.namespace ?? "default";
  await assignNamespaces(rest, objects, namespace, addon.namespace === null ? "fill" : "override");
  for (const object of objects) setLabel(object, ADDON_LABEL, addon.name);
  return { kind: "kustomize", objects: sortForApply(checkUnique(objects, addon.name)) };
}

async function renderHelm(
  rest: KubeRest,
  addon: DesiredAddon,
  source: HelmChartSource,
  fleetDir: string,
  env: Readonly<Record<string, string | undefined>>,
  options: RenderOptions,
): Promise<RenderedHelmAddon> {
  const namespace = helmNamespace(addon);
  const files = await Promise.all(source.valuesFiles.map((file) => readValuesFile(fleetDir, file, addon.name)));
  const secrets = resolveSecretValues(addon.name, source, env);
  const values = mergeHelmValues(files, source.values, secrets);
  if (source.chart.kind === "repo") {
    // Checked on every render, not once per cached render: the name is resolved now, right before helm runs.
    const problem = await chartRepoFetchProblem(source.chart.repo, options.repoPolicy ?? DEFAULT_REPO_POLICY);
    if (problem !== undefined) throw new AddonRenderError(addon.name, `add-on ${addon.name}: ${problem}`);
  }
  const chart = await chartFacts(source, fleetDir);
  const helmOptions: HelmOptions = { ...pick(options, "helm"), ...pick(options, "timeoutMs"), ...pick(options, "signal") };
  const fetched = await fetchRepoChart(addon.name, source, options);
  const chartRef = fetched?.file ?? helmChartRef(source, fleetDir);
  const template = {
    release: addon.name,
    namespace,
    // A repository chart has been fetched by bosun: helm renders the local archive and fetches nothing.
    ...pick(options, "kubeVersion"),
    ...pick(options, "apiVersions"),
  };
  const text = await cachedRender(
    options.renderCache,
    "helm",
    async (cache) => {
      const [chartKey, tool] = await Promise.all([
        source.chart.kind === "local"
          ? cache.treeDigest(fleetDir, chartRef)
          : Promise.resolve(fetched ? { digest: fetched.digest } : { repo: source.chart.repo, name: source.chart.name, version: source.chart.version }),
        resolveTool("helm", options.helm).then((file) => cache.executableIdentity(file)),
      ]);
      if (chartKey === null) return null;
      // The values without the secrets, and each secret as its digest at its path: the secrets are set last
      // (mergeHelmValues), so these two determine the values helm gets, and neither holds a secret.
      const plain = mergeHelmValues(files, source.values, []);
      const secretKeys = secrets.map((s) => [s.path, secretDigest(s.value)]);
      return ["helm", KEY_LAYOUT, tool, chartKey, template, plain, secretKeys, policyKey(options.repoPolicy ?? DEFAULT_REPO_POLICY)];
    },
    async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-render-"));
      try {
        const valuesFile = path.join(dir, "values.json");
        // JSON is YAML; the file is readable by this user only and removed right after the render.
        await fs.writeFile(valuesFile, JSON.stringify(values), { mode: 0o600 });
        return await helmTemplate(chartRef, { ...template, valuesFile }, helmOptions);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  );
  const parsed = parseManifests(text, addon.name, "helm template");
  const objects = parsed.map((p) => p.object);
  await assignNamespaces(rest, objects, namespace, "fill");
  for (const { object, source: template } of parsed) {
    if (template !== undefined && isChartCrd(template)) continue;
    setLabel(object, HELM_MANAGED_BY_LABEL, "Helm");
    setAnnotation(object, HELM_RELEASE_NAME_ANNOTATION, addon.name);
    setAnnotation(object, HELM_RELEASE_NAMESPACE_ANNOTATION, namespace);
  }
  return {
    kind: "helm",
    objects: sortForApply(checkUnique(objects, addon.name)),
    values,
    chart: chart.name,
    chartVersion: chart.version,
    secrets: secrets.map((s) => s.value),
    ...(fetched ? { chartDigest: fetched.digest, chartFile: fetched.file } : {}),
  };
}

/**
 * A chart from an HTTP(S) repository or an OCI registry, fetched by bosun with the operator's credentials
 * and CA and pinned by digest (`src/source/chart-fetch.ts`, `chart-oci.ts`); undefined for a local chart.
 */
async function fetchRepoChart(addon: string, source: HelmChartSource, options: RenderOptions): Promise<FetchedChart | undefined> {
  const chart = source.chart;
  if (chart.kind !== "repo") return undefined;
  const charts = options.charts ?? chartFetcherFor(options.repoPolicy ?? DEFAULT_REPO_POLICY, options.helm);
  try {
    return await charts.fetch(chart.repo, chart.name, chart.version);
  } catch (error) {
    if (error instanceof ChartFetchError) throw new AddonRenderError(addon, `add-on ${addon}: ${error.message}`, error);
    throw error;
  }
}

/**
 * The chart argument of `helm template`/`helm upgrade` for a Helm add-on: a local chart by absolute path,
 * so that helm never mistakes it for a `repo/chart` reference; a repo chart by its name (with `--repo`).
 */
export function helmChartRef(source: HelmChartSource, fleetDir: string): string {
  return source.chart.kind === "local" ? path.resolve(fleetDir, ...source.chart.path.split("/")) : source.chart.name;
}

/** The release namespace of a Helm add-on (the spec defaults it to the add-on's name). */
export function helmNamespace(addon: DesiredAddon): string {
  return addon.namespace ?? addon.name;
}

/** `# Source: <chart>/crds/…` — a CRD Helm installs from the chart's `crds/` directory. */
function isChartCrd(template: string): boolean {
  return /^[^/]+\/crds\//.test(template);
}

/** The chart name and version: Chart.yaml of a local chart directory; the spec's pin for a repo chart. */
async function chartFacts(source: HelmChartSource, fleetDir: string): Promise<{ name: string; version: string }> {
  const chart = source.chart;
  if (chart.kind === "repo") return { name: chart.name, version: chart.version };
  const file = path.join(fleetDir, ...chart.path.split("/"), "Chart.yaml");
  let meta: { name?: unknown; version?: unknown } = {};
  try {
    const parsed = parseSingleYaml(await fs.readFile(file, "utf8"));
    if (parsed.ok && isMap(parsed.value)) meta = { name: parsed.value.name, version: parsed.value.version };
  } catch {
    // A packaged chart (.tgz) or an unreadable Chart.yaml: fall back to what the spec loader read.
  }
  return {
    name: typeof meta.name === "string" ? meta.name : (chart.name ?? path.posix.basename(chart.path)),
    version: typeof meta.version === "string" ? meta.version : (chart.version ?? ""),
  };
}

/**
 * Reads one values file of the fleet as a map (an empty file is `{}`), parsed within the YAML limits
 * (`src/bounded-yaml.ts`): the spec loader already refused a file over them, this is the same bound at
 * the place the file is read again.
 */
async function readValuesFile(fleetDir: string, file: string, addon: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(path.join(fleetDir, ...file.split("/")), "utf8");
  } catch (error) {
    throw new AddonRenderError(addon, `add-on ${addon}: cannot read values file ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`, error);
  }
  const parsed = parseSingleYaml(text);
  if (!parsed.ok) throw new AddonRenderError(addon, `add-on ${addon}: values file ${file} is not valid YAML (${describeYamlProblem(parsed.problem)})`);
  const value = parsed.value ?? {};
  if (!isMap(value)) throw new AddonRenderError(addon, `add-on ${addon}: values file ${file} must hold a map of values`);
  return value;
}

/** A secret value read from the environment, and where it goes in the values tree. */
export interface ResolvedSecretValue {
  path: readonly string[];
  value: string;
}

/**
 * Reads every `secretValues` entry of a Helm add-on from `env`. A missing variable is an error naming the
 * variable and the add-on (never a value).
 */
export function resolveSecretValues(
  addon: string,
  source: Pick<HelmChartSource, "secretValues">,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedSecretValue[] {
  return source.secretValues.map((secret) => {
    // Own properties only: a name such as `constructor` must not find Object.prototype's.
    const value = ownString(env, secret.env);
    if (value === undefined) {
      throw new AddonRenderError(
        addon,
        `add-on ${addon}: environment variable ${secret.env} is not set (it holds the secret value ${secret.path.join(".")})`,
      );
    }
    return { path: secret.path, value };
  });
}

/**
 * The values a Helm add-on is rendered with: the values files deep-merged in order, then the inline values,
 * then each secret value set at its path. Maps merge key by key; anything else (lists, scalars, null)
 * replaces — Helm's own rule for several `--values` files. Inputs are not changed.
 */
export function mergeHelmValues(
  files: readonly Record<string, unknown>[],
  inline: Record<string, unknown>,
  secrets: readonly ResolvedSecretValue[],
): Record<string, unknown> {
  let merged: Record<string, unknown> = emptyMap();
  for (const layer of [...files, inline]) merged = deepMerge(merged, layer);
  for (const secret of secrets) setPath(merged, secret.path, secret.value);
  return merged;
}

/**
 * Merges `over` into `base`, maps recursively; returns a new tree. Keys come from the fleet repository, so
 * every map built here has no prototype and entries are defined, never assigned: a key such as
 * `__proto__` or `constructor` is an ordinary entry, never a way to the prototype of every object.
 */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = cloneValue(base) as Record<string, unknown>;
  for (const [key, value] of Object.entries(over)) {
    const current = Object.hasOwn(out, key) ? out[key] : undefined;
    defineEntry(out, key, isMap(current) && isMap(value) ? deepMerge(current, value) : cloneValue(value));
  }
  return out;
}

/** A deep copy of a JSON-like value whose maps have no prototype. */
function cloneValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(cloneValue);
  if (!isMap(value)) return value;
  const out = emptyMap();
  for (const [key, entry] of Object.entries(value)) defineEntry(out, key, cloneValue(entry));
  return out;
}

/** A map without a prototype: no key of it reaches `Object.prototype`. */
function emptyMap(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

/** Sets an own, enumerable entry whatever its name (assignment to `__proto__` would set the prototype). */
function defineEntry(map: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Sets `value` at `keys`, making maps on the way (a non-map in the way is replaced, as `--set` does). Only
 * own entries are followed, so no path (the spec refuses `__proto__`, `constructor` and `prototype`
 * anyway) can climb into a prototype.
 */
function setPath(tree: Record<string, unknown>, keys: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (isMap(next)) {
      node = next;
    } else {
      const created = emptyMap();
      defineEntry(node, key, created);
      node = created;
    }
  }
  const last = keys.at(-1);
  if (last !== undefined) defineEntry(node, last, value);
}

/** One object parsed from a render, with the template it came from (Helm's `# Source:` comment). */
export interface ParsedManifest {
  object: KubeObject;
  source: string | undefined;
}

/** YAML schema of Kubernetes manifests: YAML 1.1 scalars as sigs.k8s.io/yaml reads them. */
const MANIFEST_YAML_OPTIONS = {
  version: "1.1" as const,
  // sigs.k8s.io/yaml keeps timestamps and base-60 numbers as strings.
  customTags: (tags: Tags): Tags => tags.filter((tag) => typeof tag === "string" || !(tag.tag === "tag:yaml.org,2002:timestamp" || tag.format === "TIME")),
  prettyErrors: false,
  uniqueKeys: true,
};

/**
 * Parses the multi-document YAML a renderer printed into objects, dropping empty documents and expanding
 * `kind: List` (as kubectl does). Errors name the document and the template, never its content (which may be a Secret).
 */
export function parseManifests(text: string, addon: string, producer: string): ParsedManifest[] {
  const docs = parseAllDocuments(text, MANIFEST_YAML_OPTIONS);
  if (!Array.isArray(docs)) return [];
  const out: ParsedManifest[] = [];
  docs.forEach((doc, index) => {
    const comment = doc.commentBefore ?? (doc.contents as { commentBefore?: string | null } | null)?.commentBefore ?? "";
    const source = /Source:\s*(\S+)/.exec(comment)?.[1];
    const where = `document ${index + 1}${source ? ` (${source})` : ""} of ${producer}`;
    const error = doc.errors[0];
    if (error) throw new AddonRenderError(addon, `add-on ${addon}: ${where} is not valid YAML (${error.code}${lineOf(text, error.pos[0])})`);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch {
      // toJS refuses an alias bomb (and a stack-deep document) by throwing; it is the chart's problem.
      throw new AddonRenderError(addon, `add-on ${addon}: ${where} expands too far (too many YAML aliases or nesting too deep)`);
    }
    if (value === null || value === undefined) return;
    const items = isMap(value) && value.kind === "List" && Array.isArray(value.items) ? (value.items as unknown[]) : [value];
    for (const item of items) out.push({ object: asKubeObject(item, addon, where), source });
  });
  return out;
}

function asKubeObject(value: unknown, addon: string, where: string): KubeObject {
  if (!isMap(value)) throw new AddonRenderError(addon, `add-on ${addon}: ${where} is not a Kubernetes object (not a map)`);
  const metadata = value.metadata;
  const missing = [
    typeof value.apiVersion === "string" && value.apiVersion !== "" ? null : "apiVersion",
    typeof value.kind === "string" && value.kind !== "" ? null : "kind",
    isMap(metadata) && typeof metadata.name === "string" && metadata.name !== "" ? null : "metadata.name",
  ].filter((field) => field !== null);
  if (missing.length > 0) throw new AddonRenderError(addon, `add-on ${addon}: ${where} is not a Kubernetes object (no ${missing.join(", ")})`);
  if (isMap(metadata) && metadata.namespace !== undefined && typeof metadata.namespace !== "string") {
    throw new AddonRenderError(addon, `add-on ${addon}: ${where}: metadata.namespace is not a string`);
  }
  return value as KubeObject;
}

/**
 * Makes every object's namespace explicit. `fill` gives `namespace` to namespaced objects without one
 * (Helm: the release namespace); `override` puts every namespaced object in it (Kustomize with an add-on
 * namespace). Cluster-scoped objects lose any namespace. Whether a kind is namespaced comes from the
 * cluster's discovery, else from a CRD in the same render (a custom resource of a CRD the add-on itself
 * installs); a kind neither knows keeps what it has. Changes the objects in place.
 */
export async function assignNamespaces(
  rest: Pick<KubeRest, "resource">,
  objects: readonly KubeObject[],
  namespace: string,
  mode: "fill" | "override",
): Promise<void> {
  const rendered = renderedCrdScopes(objects);
  for (const object of objects) {
    const namespaced = (await rest.resource(object.apiVersion, object.kind))?.namespaced ?? rendered.get(groupKind(object.apiVersion, object.kind));
    if (namespaced === undefined) continue;
    if (!namespaced) {
      delete object.metadata.namespace;
    } else if (mode === "override" || !object.metadata.namespace) {
      object.metadata.namespace = namespace;
    }
  }
}

/** `group/Kind` → namespaced, for the CRDs among `objects`. */
function renderedCrdScopes(objects: readonly KubeObject[]): Map<string, boolean> {
  const scopes = new Map<string, boolean>();
  for (const object of objects) {
    if (applyRank(object) !== 0) continue;
    const spec = object.spec as { group?: unknown; scope?: unknown; names?: { kind?: unknown } } | undefined;
    if (typeof spec?.group === "string" && typeof spec.names?.kind === "string") {
      scopes.set(`${spec.group}/${spec.names.kind}`, spec.scope === "Namespaced");
    }
  }
  return scopes;
}

function groupKind(apiVersion: string, kind: string): string {
  const slash = apiVersion.lastIndexOf("/");
  return `${slash < 0 ? "" : apiVersion.slice(0, slash)}/${kind}`;
}

/** Rank of a kind in the apply order: CRDs, then Namespaces, then everything else. */
function applyRank(object: KubeObject): number {
  if (object.kind === "CustomResourceDefinition" && object.apiVersion.startsWith("apiextensions.k8s.io/")) return 0;
  if (object.kind === "Namespace" && object.apiVersion === "v1") return 1;
  return 2;
}

/** Sorts objects for applying: CRDs first, then Namespaces, then the rest in render order (stable). */
export function sortForApply(objects: readonly KubeObject[]): KubeObject[] {
  return objects
    .map((object, index) => ({ object, index }))
    .sort((a, b) => applyRank(a.object) - applyRank(b.object) || a.index - b.index)
    .map(({ object }) => object);
}

/**
 * Refuses a render that has the same object twice (the second would silently win on apply). Same means
 * the same group, Kind, namespace and name: two CRDs may share a Kind.
 */
function checkUnique(objects: KubeObject[], addon: string): KubeObject[] {
  const seen = new Set<string>();
  for (const object of objects) {
    const id = inventoryId(object);
    if (seen.has(id)) throw new AddonRenderError(addon, `add-on ${addon}: the render has ${id} twice`);
    seen.add(id);
  }
  return objects;
}

function setLabel(object: KubeObject, key: string, value: string): void {
  object.metadata.labels = { ...(isMap(object.metadata.labels) ? object.metadata.labels : {}), [key]: value };
}

function setAnnotation(object: KubeObject, key: string, value: string): void {
  object.metadata.annotations = { ...(isMap(object.metadata.annotations) ? object.metadata.annotations : {}), [key]: value };
}

/** ` at line N` for a character offset of `text`, or nothing. */
function lineOf(text: string, offset: number | undefined): string {
  if (offset === undefined) return "";
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return ` at line ${line}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `{key: value}` when `object[key]` is defined, else `{}` (for optional options). */
function pick<T extends object, K extends keyof T>(object: T, key: K): Partial<Pick<T, K>> {
  return object[key] === undefined ? {} : ({ [key]: object[key] } as unknown as Partial<Pick<T, K>>);
}

/** `env[name]` when it is the environment's own string entry (never an inherited property). */
export function ownString(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value: unknown = Object.hasOwn(env, name) ? env[name] : undefined;
  return typeof value === "string" ? value : undefined;
}
