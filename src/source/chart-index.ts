/**
 * Reading a Helm chart repository's `index.yaml`: the one entry bosun needs — a chart's pinned version,
 * with the archive's download URLs and its SHA-256 digest. The index comes from a server bosun does not
 * control, so it is parsed within limits (size, YAML nodes, aliases, depth: `bounded-yaml.ts`), and every
 * field read is checked for its type; a download URL is resolved against the index's own URL (relative
 * URLs are what `helm repo index` writes without `--url`). Pure: no I/O.
 */
import { parseSingleYaml } from "../bounded-yaml.js";

/** Limits for one index. */
export interface ChartIndexLimits {
  /** Largest index accepted, in bytes (also the download limit). */
  maxBytes: number;
  /** Most YAML nodes the index may hold (large public repositories hold a few hundred thousand). */
  maxNodes: number;
}

/** The defaults: room for the large public repositories, far below what exhausts a daemon. */
export const DEFAULT_CHART_INDEX_LIMITS: Readonly<ChartIndexLimits> = { maxBytes: 32 * 1024 * 1024, maxNodes: 4_000_000 };

/** One chart version as the index lists it. */
export interface ChartIndexEntry {
  name: string;
  version: string;
  /** Absolute download URLs, in the index's order (helm uses the first). */
  urls: string[];
  /** The archive's SHA-256 (lower-case hex), when the index records one (`helm repo index` always does). */
  digest?: string;
}

/** Why an index did not give the entry. */
export type ChartIndexProblem =
  | { kind: "invalid"; message: string }
  | { kind: "no-chart"; message: string }
  | { kind: "no-version"; message: string; versions: string[] };

/** Most versions named in a "no such version" message. */
const VERSIONS_SHOWN = 10;

/**
 * Finds `name` at `version` in the index text fetched from `indexUrl`. Never throws; a problem says what
 * is wrong without quoting the index beyond chart versions.
 */
export function findChartVersion(
  text: string,
  indexUrl: string,
  name: string,
  version: string,
  limits: ChartIndexLimits = DEFAULT_CHART_INDEX_LIMITS,
): { ok: true; entry: ChartIndexEntry } | { ok: false; problem: ChartIndexProblem } {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxBytes) return invalid(`the index is larger than the limit of ${limits.maxBytes} bytes`);
  const parsed = parseSingleYaml(text, { limits: { maxBytes: limits.maxBytes, maxNodes: limits.maxNodes } });
  if (!parsed.ok) return invalid(`the index is not valid YAML (line ${parsed.problem.line}: ${parsed.problem.message})`);
  const root = parsed.value;
  if (!isMap(root) || !isMap(root.entries)) return invalid("the index has no entries map (is this URL a Helm chart repository?)");
  const versions = Object.hasOwn(root.entries, name) ? root.entries[name] : undefined;
  if (versions === undefined) return { ok: false, problem: { kind: "no-chart", message: `the repository has no chart named ${name}` } };
  if (!Array.isArray(versions)) return invalid(`the index's entry for ${name} is not a list`);
  const listed: string[] = [];
  for (const item of versions) {
    if (!isMap(item) || typeof item.version !== "string") continue;
    listed.push(item.version);
    if (item.version !== version) continue;
    const urls = Array.isArray(item.urls) ? item.urls.filter((u): u is string => typeof u === "string" && u !== "") : [];
    if (urls.length === 0) return invalid(`the index lists ${name} ${version} without a download URL`);
    const absolute: string[] = [];
    for (const url of urls) {
      try {
        absolute.push(new URL(url, indexUrl).toString());
      } catch {
        return invalid(`the index lists ${name} ${version} with a download URL that is not a URL`);
      }
    }
    const digest = item.digest;
    if (digest !== undefined && (typeof digest !== "string" || !/^(sha256:)?[0-9a-fA-F]{64}$/.test(digest))) {
      return invalid(`the index lists ${name} ${version} with a digest that is not a SHA-256`);
    }
    return { ok: true, entry: { name, version, urls: absolute, ...(typeof digest === "string" ? { digest: digest.replace(/^sha256:/, "").toLowerCase() } : {}) } };
  }
  const shown = listed.slice(0, VERSIONS_SHOWN);
  const more = listed.length > shown.length ? ` and ${listed.length - shown.length} more` : "";
  return {
    ok: false,
    problem: {
      kind: "no-version",
      message: `the repository has chart ${name} but not version ${version} (it has ${shown.length === 0 ? "no versions" : `${shown.join(", ")}${more}`})`,
      versions: listed,
    },
  };
}

function invalid(message: string): { ok: false; problem: ChartIndexProblem } {
  return { ok: false, problem: { kind: "invalid", message } };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
