/**
 * Reads what the pre-upgrade checks need (issue 15; the checks themselves are pure, in
 * `src/plan/preflight-checks.ts`), only while a cluster is not at its desired version, so an in-sync
 * cluster costs nothing more:
 *
 * 1. LIST validating and mutating webhook configurations (2 requests); for each Service a fail-closed
 *    webhook calls, LIST its EndpointSlices (one request per distinct Service, at most {@link MAX_SERVICES});
 * 2. LIST PodDisruptionBudgets (1); for each budget allowing no disruption, LIST the pods it selects (one
 *    request per budget, at most {@link MAX_BUDGETS}) for the nodes they run on;
 * 3. GET `/metrics` of the API server answering, for `apiserver_requested_deprecated_apis` (1);
 * 4. LIST the Helm release records and GET bosun's inventory (2), for the objects written in an API
 *    version some release removes (identities and API versions only: manifests can hold Secret data).
 *
 * Every read is a GET (observation never mutates). A part that cannot be read is recorded as a problem,
 * never taken as a pass.
 */
import { BosunError, asError } from "../errors.js";
import { UnreachableError, type KubeRest } from "../kube/rest.js";
import { readInventoryEntries } from "../addons/inventory.js";
import { listHelmReleases } from "../addons/releases.js";
import { API_REMOVALS } from "../plan/api-removals.js";
import type { ManifestObject, ObservedBudget, ObservedDeprecatedApi, ObservedReadiness, ObservedWebhook } from "../plan/observed.js";

/** Distinct webhook Services whose endpoints are read; more are reported as a problem. */
export const MAX_SERVICES = 50;
/** Budgets allowing no disruption whose pods are read; more are reported as a problem. */
export const MAX_BUDGETS = 20;
/** The largest /metrics answer read (a big cluster's API server exposes tens of MiB). */
const MAX_METRICS_BYTES = 64 * 1024 * 1024;

interface WebhookConfiguration {
  metadata?: { name?: string };
  webhooks?: { name?: string; failurePolicy?: string; clientConfig?: { service?: { namespace?: string; name?: string } } }[];
}

interface EndpointSlice {
  endpoints?: { conditions?: { ready?: boolean | null } }[] | null;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface PodDisruptionBudget {
  metadata?: { namespace?: string; name?: string };
  spec?: { selector?: LabelSelector };
  status?: { disruptionsAllowed?: number };
}

interface Pod {
  spec?: { nodeName?: string };
}

/** Reads the pre-upgrade inputs of the cluster behind `rest`. Unreachable clusters throw `UnreachableError`. */
export async function observeReadiness(rest: KubeRest): Promise<ObservedReadiness> {
  const problems: string[] = [];
  const [webhooks, budgets, deprecatedApis, manifestObjects] = await Promise.all([
    failClosedWebhooks(rest, problems),
    blockingBudgets(rest, problems),
    requestedDeprecatedApis(rest, problems),
    objectsInRemovedApis(rest),
  ]);
  return { webhooks, budgets, deprecatedApis, manifestObjects, problems };
}

/** Objects of Helm releases and of bosun's inventory written in an API version the removal table lists. */
async function objectsInRemovedApis(rest: KubeRest): Promise<ManifestObject[]> {
  const [releases, inventory] = await Promise.all([listHelmReleases(rest), readInventoryEntries(rest)]);
  const listed = new Set(API_REMOVALS.map((r) => `${r.apiVersion} ${r.kind}`));
  const found: ManifestObject[] = [];
  for (const release of releases) {
    for (const object of release.objects) {
      if (!listed.has(`${object.apiVersion} ${object.kind}`)) continue;
      found.push({ source: `Helm release ${release.namespace}/${release.name}`, apiVersion: object.apiVersion, kind: object.kind, object: object.namespace === null ? object.name : `${object.namespace}/${object.name}` });
    }
  }
  for (const entry of inventory) {
    for (const object of entry.objects) {
      // Inventory ids are `Kind.group/namespace/name` (or `Kind.group/name`): the kind is before the first dot.
      const [kindPart = "", ...where] = object.id.split("/");
      const kind = kindPart.split(".")[0] ?? "";
      if (!listed.has(`${object.apiVersion} ${kind}`)) continue;
      found.push({ source: `add-on ${entry.name}`, apiVersion: object.apiVersion, kind, object: where.join("/") });
    }
  }
  return found;
}

async function failClosedWebhooks(rest: KubeRest, problems: string[]): Promise<ObservedWebhook[]> {
  const kinds = [
    ["ValidatingWebhookConfiguration", "validatingwebhookconfigurations"],
    ["MutatingWebhookConfiguration", "mutatingwebhookconfigurations"],
  ] as const;
  const found: Omit<ObservedWebhook, "readyEndpoints">[] = [];
  for (const [kind, configurations] of await Promise.all(
    kinds.map(async ([kind, resource]) => [kind, await rest.list<WebhookConfiguration>(`/apis/admissionregistration.k8s.io/v1/${resource}`)] as const),
  )) {
    for (const configuration of configurations) {
      for (const webhook of configuration.webhooks ?? []) {
        // v1's default failurePolicy is Fail.
        const service = webhook.clientConfig?.service;
        if ((webhook.failurePolicy ?? "Fail") !== "Fail" || service?.namespace === undefined || service.name === undefined) continue;
        found.push({ kind, configuration: configuration.metadata?.name ?? "", webhook: webhook.name ?? "", service: `${service.namespace}/${service.name}` });
      }
    }
  }
  const services = [...new Set(found.map((w) => w.service))].sort();
  if (services.length > MAX_SERVICES) problems.push(`${services.length} Services behind fail-closed webhooks: only the first ${MAX_SERVICES} were checked for endpoints`);
  const ready = new Map<string, number>();
  await Promise.all(
    services.slice(0, MAX_SERVICES).map(async (service) => {
      const [namespace = "", name = ""] = service.split("/");
      const slices = await rest.list<EndpointSlice>(`/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/endpointslices`, {
        labelSelector: `kubernetes.io/service-name=${name}`,
      });
      // An unknown readiness counts as ready, as the EndpointSlice API tells consumers to.
      ready.set(service, slices.reduce((sum, slice) => sum + (slice.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length, 0));
    }),
  );
  return found.filter((w) => ready.has(w.service)).map((w) => ({ ...w, readyEndpoints: ready.get(w.service) ?? 0 }));
}

async function blockingBudgets(rest: KubeRest, problems: string[]): Promise<ObservedBudget[]> {
  const budgets = (await rest.list<PodDisruptionBudget>("/apis/policy/v1/poddisruptionbudgets")).filter((b) => b.status?.disruptionsAllowed === 0);
  if (budgets.length > MAX_BUDGETS) problems.push(`${budgets.length} PodDisruptionBudgets allow no disruption: only the first ${MAX_BUDGETS} were checked for the nodes they hold`);
  const named = budgets.map((b) => ({ budget: b, name: `${b.metadata?.namespace ?? ""}/${b.metadata?.name ?? ""}` })).sort((a, b) => (a.name < b.name ? -1 : 1));
  return Promise.all(
    named.slice(0, MAX_BUDGETS).map(async ({ budget, name }) => {
      const selector = selectorText(budget.spec?.selector);
      // A budget without a selector selects nothing in policy/v1 (an empty one selects every pod).
      if (selector === undefined) return { name, nodes: [] };
      const pods = await rest.list<Pod>(`/api/v1/namespaces/${encodeURIComponent(budget.metadata?.namespace ?? "")}/pods`, { labelSelector: selector });
      return { name, nodes: [...new Set(pods.flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : [])))].sort() };
    }),
  );
}

/** A label selector in the `labelSelector` query syntax; undefined for none. */
export function selectorText(selector: LabelSelector | undefined): string | undefined {
  if (selector === undefined) return undefined;
  const parts = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const expression of selector.matchExpressions ?? []) {
    const values = (expression.values ?? []).join(",");
    if (expression.operator === "In") parts.push(`${expression.key} in (${values})`);
    else if (expression.operator === "NotIn") parts.push(`${expression.key} notin (${values})`);
    else if (expression.operator === "Exists") parts.push(expression.key);
    else if (expression.operator === "DoesNotExist") parts.push(`!${expression.key}`);
  }
  return parts.join(",");
}

async function requestedDeprecatedApis(rest: KubeRest, problems: string[]): Promise<ObservedDeprecatedApi[] | null> {
  try {
    const answer = await rest.send({ method: "GET", path: "/metrics" });
    if (answer.status !== 200) {
      problems.push(`the API server's /metrics answered ${answer.status}: deprecated APIs in use could not be read`);
      return null;
    }
    if (answer.body.length > MAX_METRICS_BYTES) {
      problems.push("the API server's /metrics is larger than 64 MiB: deprecated APIs in use were not read");
      return null;
    }
    return parseDeprecatedApis(answer.body);
  } catch (error) {
    // 403 (no access to /metrics) arrives as UnreachableError: the cluster answered, this one read did not.
    if (error instanceof UnreachableError || error instanceof BosunError) {
      problems.push(`the API server's /metrics could not be read (${asError(error).message}): deprecated APIs in use are unknown`);
      return null;
    }
    throw error;
  }
}

const METRIC = "apiserver_requested_deprecated_apis{";

/** The series of `apiserver_requested_deprecated_apis` with a value of 1, sorted and without duplicates. Pure. */
export function parseDeprecatedApis(text: string): ObservedDeprecatedApi[] {
  const seen = new Map<string, ObservedDeprecatedApi>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(METRIC)) continue;
    const end = line.lastIndexOf("}");
    if (end < 0 || Number(line.slice(end + 1).trim()) !== 1) continue;
    const labels = new Map<string, string>();
    for (const match of line.slice(METRIC.length, end).matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels.set(match[1] ?? "", match[2] ?? "");
    const api = {
      group: labels.get("group") ?? "",
      version: labels.get("version") ?? "",
      resource: labels.get("resource") ?? "",
      removedRelease: labels.get("removed_release") ?? "",
    };
    // One entry per resource: its subresources (status, scale) are the same API to migrate.
    seen.set(`${api.group}/${api.version}/${api.resource}`, api);
  }
  return [...seen.values()].sort((a, b) => {
    const ka = `${a.group}/${a.version}/${a.resource}`;
    const kb = `${b.group}/${b.version}/${b.resource}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}
