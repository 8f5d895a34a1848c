/**
 * Helm releases of one cluster, read from Helm's own release records with one LIST — one request per
 * cluster beats one `helm` process per release (DESIGN section 5).
 *
 * Helm 3 and Helm 4 (storage driver `secret`, the default) keep every revision of a release as a Secret of
 * type `helm.sh/release.v1` named `sh.helm.release.v1.<release>.v<revision>`, labelled `owner=helm`,
 * `name=<release>`, `version=<revision>` and `status=<status>`. Its `data.release` holds
 * base64(gzip(JSON release)), and the API serves Secret data base64-encoded once more. The JSON carries the
 * rendered manifest, the chart's files and the user-supplied values; the manifest can contain Secret data,
 * so only the fields below are ever taken from a record — the rest is dropped as soon as it is parsed and
 * never logged or returned.
 */
import { gunzipSync } from "node:zlib";
import { parseAllDocuments } from "yaml";
import { GROUPS, identity } from "../identity.js";
import type { KubeRest } from "../kube/rest.js";

/** The Secret type Helm stores release records as. */
export const HELM_RELEASE_SECRET_TYPE = "helm.sh/release.v1";

/** What bosun reads from the latest revision of one Helm release. */
export interface HelmReleaseRecord {
  name: string;
  namespace: string;
  /** The revision number (`version` in Helm's record). */
  revision: number;
  /** `deployed`, `failed`, `pending-install`, `pending-upgrade`, `pending-rollback`, `superseded`, `uninstalling`… */
  status: string;
  /** The chart's name (Chart.yaml `name`). */
  chart: string;
  /** The chart's version (Chart.yaml `version`). */
  chartVersion: string;
  /** The values the user supplied (`helm … --values/--set`), not merged with the chart's defaults; `{}` when none. */
  config: Record<string, unknown>;
  /**
   * The objects of the release's manifest, by identity and API version only (the manifest itself, which
   * can hold Secret data, is dropped): what the pre-upgrade checks compare with the API removals.
   */
  objects: ReleaseObject[];
  /**
   * Set when the record could not be decoded: why, without any of its content. `status` then comes from
   * the Secret's labels, `chart` and `chartVersion` are empty and `config` is `{}`.
   */
  error?: string;
}

/** One object of a release's manifest: where it is and which API version it is written in, nothing else. */
export interface ReleaseObject {
  apiVersion: string;
  kind: string;
  namespace: string | null;
  name: string;
}

/** The parts of a release-record Secret bosun looks at. */
export interface ReleaseSecret {
  type?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/** The parts of Helm's release JSON bosun reads; everything else in it is ignored. */
interface ReleaseJson {
  name?: unknown;
  namespace?: unknown;
  version?: unknown;
  info?: { status?: unknown };
  chart?: { metadata?: { name?: unknown; version?: unknown } };
  config?: unknown;
  manifest?: unknown;
}

/**
 * Lists the Helm releases of a cluster: one LIST of Secrets labelled `owner=helm` (and not superseded) across all namespaces
 * (paged by the API server only beyond 500 records), keeping for each release name and namespace only its
 * latest revision. Only the latest revision of each release is decoded. Sorted by namespace, then name.
 * A record that cannot be decoded is returned with `error` set (so the add-on it belongs to fails, not the
 * whole cluster).
 */
export async function listHelmReleases(rest: KubeRest): Promise<HelmReleaseRecord[]> {
  // A superseded revision is never the latest one; leaving those out keeps the LIST small (each record
  // holds a whole gzipped release, and Helm keeps 10 revisions by default).
  const secrets = await rest.list<ReleaseSecret>("/api/v1/secrets", { labelSelector: "owner=helm,status!=superseded" });
  const records = latestReleaseSecrets(secrets).map((secret) => decodeReleaseSecret(secret, rest.cluster));
  return records.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
}

/**
 * The latest revision's record of each release (by namespace and the `name` label), chosen from the
 * labels alone so that older revisions are never decoded. Records of another type, or without a name or
 * an integer `version` label, are ignored.
 */
export function latestReleaseSecrets<T extends ReleaseSecret>(secrets: readonly T[]): T[] {
  const latest = new Map<string, { revision: number; secret: T }>();
  for (const secret of secrets) {
    if (secret.type !== HELM_RELEASE_SECRET_TYPE) continue;
    const name = secret.metadata?.labels?.name;
    const namespace = secret.metadata?.namespace;
    const revision = Number(secret.metadata?.labels?.version);
    if (!name || !namespace || !Number.isInteger(revision)) continue;
    const key = `${namespace}/${name}`;
    const seen = latest.get(key);
    if (!seen || revision > seen.revision) latest.set(key, { revision, secret });
  }
  return [...latest.values()].map(({ secret }) => secret);
}

/**
 * Decodes one release-record Secret as the API serves it (its `data.release` base64-encoded by the API on
 * top of Helm's own encoding) into the fields bosun uses. Exported for tests.
 */
export function decodeReleaseSecret(secret: ReleaseSecret, cluster: string): HelmReleaseRecord {
  const labels = secret.metadata?.labels ?? {};
  const unreadable = (why: string): HelmReleaseRecord => ({
    name: labels.name ?? "",
    namespace: secret.metadata?.namespace ?? "",
    revision: Number(labels.version),
    status: labels.status ?? "unknown",
    chart: "",
    chartVersion: "",
    config: {},
    objects: [],
    error: `${identity({ cluster, group: GROUPS.core, kind: "Secret", namespace: secret.metadata?.namespace ?? "", name: secret.metadata?.name ?? "" })}: ${why}`,
  });
  const encoded = secret.data?.release;
  if (typeof encoded !== "string") return unreadable("Helm release record without data.release");
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeReleasePayload(Buffer.from(encoded, "base64").toString("latin1")));
  } catch {
    // The cause is not kept: a parser's message can quote the record, and the record holds the manifest.
    return unreadable("the Helm release record is not base64(gzip(JSON)) as Helm writes it");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return unreadable("the Helm release record is not a JSON object");
  const release = parsed as ReleaseJson;
  const name = stringField(release.name) ?? secret.metadata?.labels?.name ?? "";
  const namespace = stringField(release.namespace) ?? secret.metadata?.namespace ?? "";
  const revision = typeof release.version === "number" ? release.version : Number(secret.metadata?.labels?.version);
  const config = release.config;
  return {
    name,
    namespace,
    revision,
    status: stringField(release.info?.status) ?? secret.metadata?.labels?.status ?? "unknown",
    chart: stringField(release.chart?.metadata?.name) ?? "",
    chartVersion: stringField(release.chart?.metadata?.version) ?? "",
    config: typeof config === "object" && config !== null && !Array.isArray(config) ? (config as Record<string, unknown>) : {},
    objects: manifestObjects(release.manifest),
  };
}

/** The identities and API versions of a manifest's objects; none for a manifest that does not parse. */
export function manifestObjects(manifest: unknown): ReleaseObject[] {
  if (typeof manifest !== "string") return [];
  const objects: ReleaseObject[] = [];
  try {
    for (const document of parseAllDocuments(manifest)) {
      if (!("errors" in document) || document.errors.length > 0) continue;
      const value: unknown = document.toJS({ maxAliasCount: 0 });
      if (typeof value !== "object" || value === null) continue;
      const { apiVersion, kind, metadata } = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
      if (typeof apiVersion !== "string" || typeof kind !== "string") continue;
      objects.push({ apiVersion, kind, namespace: stringField(metadata?.namespace) ?? null, name: stringField(metadata?.name) ?? "" });
    }
  } catch {
    // Nothing of the manifest is kept or quoted: it may hold Secret data.
    return [];
  }
  return objects;
}

/**
 * Helm's own encoding of a release: base64 of the gzipped JSON (Helm also reads records that were not
 * gzipped, so this does too). Returns the JSON text.
 */
export function decodeReleasePayload(helmEncoded: string): string {
  const bytes = Buffer.from(helmEncoded, "base64");
  const gzipped = bytes.length > 3 && bytes[0] === 0x1f && bytes[1] === 0x8b && bytes[2] === 0x08;
  return (gzipped ? gunzipSync(bytes, { maxOutputLength: MAX_RELEASE_BYTES }) : bytes).toString("utf8");
}

/** Largest decompressed release accepted (a Secret is at most 1 MiB compressed; JSON compresses ~10×). */
const MAX_RELEASE_BYTES = 64 * 1024 * 1024;

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function stringField(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
