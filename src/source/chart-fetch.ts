/**
 * Fetching a pinned chart from an HTTP(S) chart repository, by bosun itself rather than by helm, so that
 * the operator's credentials and CA apply, every hop is checked, and the archive is pinned by digest:
 *
 * - The index is fetched once per fetcher (one plan or one apply run) and sent again with `If-None-Match`
 *   / `If-Modified-Since` in later runs of the process, so an unchanged repository costs one 304.
 * - The archive is verified against the index's SHA-256 and kept in `<cache>/charts/sha256-<hex>.tgz`:
 *   a fleet that installs one chart in fifty clusters downloads it once, and a second plan downloads
 *   nothing. A file in the cache is named by the digest of its content (written to a temporary name,
 *   verified, then renamed), so it is never trusted beyond what its name says.
 * - Credentials go only to URLs under their prefix (`credentialsFor`, checked again on every redirect and
 *   for download URLs the index names), never over plain HTTP; an internal address is refused at connect
 *   time (the address checked is the address connected to, so a name that resolves differently the second
 *   time cannot slip through) unless the operator allows internal repositories.
 * - Every failure is a {@link ChartFetchError} whose message names the repository (without user info), the
 *   status or TLS problem, and what to configure — never a secret.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { cacheRoot } from "../paths.js";
import { classifyAddress } from "../spec/chart-repo-url.js";
import type { RepoPolicy } from "../spec/repo-policy.js";
import { credentialsFor, NO_CHART_CREDENTIALS, resolveChartAuth, type ChartCredentialsList, type ResolvedChartAuth } from "./chart-credentials.js";
import { findCachedChart, sha256Hex, storeChart } from "./chart-cache.js";
import { ChartFetchError, literalHostProblem, safe, type FetchedChart } from "./chart-fetch-error.js";
import { pullOciChart } from "./chart-oci.js";
import { DEFAULT_CHART_INDEX_LIMITS, findChartVersion, type ChartIndexLimits } from "./chart-index.js";

/** How a fetcher connects. */
export interface ChartFetcherOptions {
  credentials?: ChartCredentialsList;
  /** Where secret variables are read (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Allow loopback, private and link-local addresses (the operator's `--allow-internal-chart-repos`). */
  allowInternal?: boolean;
  /** Time one request may take. */
  timeoutMs?: number;
  /** Largest chart archive downloaded. */
  maxChartBytes?: number;
  indexLimits?: ChartIndexLimits;
  /** The chart cache directory (default `<cache>/charts`). */
  cacheDir?: string;
  /** The helm executable for OCI pulls (default: bosun's lookup, BOSUN_HELM first). */
  helm?: string;
  /** Stops every request and pull of the run (its SIGTERM). */
  signal?: AbortSignal;
}

/** Largest chart archive downloaded by default (charts with vendored dependencies run to a few MiB). */
export const DEFAULT_MAX_CHART_BYTES = 64 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;

/** An index as last seen, for conditional requests in later runs of this process. */
interface SeenIndex {
  etag?: string;
  lastModified?: string;
  text: string;
}

/** Indexes kept for conditional requests, oldest dropped first: at most this many, and this many bytes. */
const MAX_SEEN_INDEXES = 32;
const MAX_SEEN_INDEX_BYTES = 64 * 1024 * 1024;
const seenIndexes = new Map<string, SeenIndex>();

/** Counters of this process's repository requests, for metrics and tests. */
export const chartFetchStats = { indexRequests: 0, indexNotModified: 0, chartDownloads: 0, cacheHits: 0, ociPulls: 0 };

/** A fetcher for one run with the operator's allowances: internal hosts and chart credentials. */
export function chartFetcherFor(policy: Pick<RepoPolicy, "allowInternalChartRepos" | "chartCredentials"> | undefined, helm?: string, signal?: AbortSignal): ChartFetcher {
  return new ChartFetcher({
    allowInternal: policy?.allowInternalChartRepos ?? false,
    ...(policy?.chartCredentials ? { credentials: policy.chartCredentials } : {}),
    ...(helm === undefined ? {} : { helm }),
    ...(signal === undefined ? {} : { signal }),
  });
}

/**
 * Fetches charts for one run (a plan or an apply): each repository's index is fetched at most once per
 * fetcher, each archive at most once per process and digest.
 */
export class ChartFetcher {
  private readonly options: Required<Omit<ChartFetcherOptions, "credentials" | "env" | "helm" | "signal">> & { credentials: ChartCredentialsList; env: Readonly<Record<string, string | undefined>> };
  private readonly helm: string | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly indexes = new Map<string, Promise<string>>();
  private readonly charts = new Map<string, Promise<FetchedChart>>();

  constructor(options: ChartFetcherOptions = {}) {
    this.options = {
      credentials: options.credentials ?? NO_CHART_CREDENTIALS,
      env: options.env ?? process.env,
      allowInternal: options.allowInternal ?? false,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxChartBytes: options.maxChartBytes ?? DEFAULT_MAX_CHART_BYTES,
      indexLimits: options.indexLimits ?? DEFAULT_CHART_INDEX_LIMITS,
      cacheDir: options.cacheDir ?? path.join(cacheRoot(), "charts"),
    };
    this.helm = options.helm;
    this.signal = options.signal;
  }

  /**
   * The archive of `name` at `version` from the repository at `repo`: an HTTP(S) chart repository
   * (`https://…`, `http://…`) or an OCI registry path (`oci://…`, pulled through helm: `chart-oci.ts`).
   */
  async fetch(repo: string, name: string, version: string): Promise<FetchedChart> {
    const key = `${repo}\0${name}\0${version}`;
    let pending = this.charts.get(key);
    if (!pending) {
      pending = isOci(repo) ? this.pullOci(repo, name, version) : this.fetchOnce(repo, name, version);
      // A failure is not remembered beyond this run's other callers: the next run tries again.
      this.charts.set(key, pending);
    }
    return pending;
  }

  private async pullOci(repo: string, name: string, version: string): Promise<FetchedChart> {
    const pulled = await pullOciChart(repo, name, version, { ...this.options, ...(this.helm ? { helm: this.helm } : {}), ...(this.signal ? { signal: this.signal } : {}) });
    chartFetchStats.ociPulls += 1;
    return pulled;
  }

  private async fetchOnce(repo: string, name: string, version: string): Promise<FetchedChart> {
    const indexUrl = `${repo.replace(/\/+$/, "")}/index.yaml`;
    const text = await this.index(indexUrl);
    const found = findChartVersion(text, indexUrl, name, version, this.options.indexLimits);
    const where = `chart repository ${safe(repo)}`;
    if (!found.ok) throw new ChartFetchError(found.problem.kind === "invalid" ? "invalid" : "not-found", `${where}: ${found.problem.message}`);
    const { entry } = found;
    if (entry.digest !== undefined) {
      const cached = await findCachedChart(this.options.cacheDir, entry.digest);
      if (cached !== undefined) {
        chartFetchStats.cacheHits += 1;
        return { file: cached, digest: entry.digest, url: safe(entry.urls[0] ?? indexUrl) };
      }
    }
    const url = entry.urls[0] ?? indexUrl;
    const { body } = await this.get(url, { maxBytes: this.options.maxChartBytes, what: `${name} ${version}` });
    chartFetchStats.chartDownloads += 1;
    const digest = sha256Hex(body);
    if (entry.digest !== undefined && entry.digest !== digest) {
      throw new ChartFetchError("digest-mismatch", `${where}: ${name} ${version} downloaded from ${safe(url)} has digest sha256:${digest}, but the index says sha256:${entry.digest} (a changed or corrupted archive); nothing was installed from it`);
    }
    const stored = await storeChart(this.options.cacheDir, body);
    return { ...stored, url: safe(url) };
  }

  /** The index text: once per fetcher; conditionally against what this process saw before. */
  private async index(indexUrl: string): Promise<string> {
    let pending = this.indexes.get(indexUrl);
    if (!pending) {
      pending = this.fetchIndex(indexUrl);
      this.indexes.set(indexUrl, pending);
    }
    return pending;
  }

  private async fetchIndex(indexUrl: string): Promise<string> {
    const seen = seenIndexes.get(indexUrl);
    const conditional: Record<string, string> = {};
    if (seen?.etag) conditional["if-none-match"] = seen.etag;
    if (seen?.lastModified) conditional["if-modified-since"] = seen.lastModified;
    chartFetchStats.indexRequests += 1;
    const response = await this.get(indexUrl, { maxBytes: this.options.indexLimits.maxBytes, what: "the index", headers: conditional, allowNotModified: seen !== undefined });
    if (response.status === 304 && seen) {
      chartFetchStats.indexNotModified += 1;
      return seen.text;
    }
    const text = response.body.toString("utf8");
    seenIndexes.delete(indexUrl);
    if (response.etag !== undefined || response.lastModified !== undefined) {
      seenIndexes.set(indexUrl, { text, ...(response.etag ? { etag: response.etag } : {}), ...(response.lastModified ? { lastModified: response.lastModified } : {}) });
      let bytes = [...seenIndexes.values()].reduce((sum, seen) => sum + seen.text.length, 0);
      while (seenIndexes.size > MAX_SEEN_INDEXES || bytes > MAX_SEEN_INDEX_BYTES) {
        const [oldest, seen] = seenIndexes.entries().next().value as [string, SeenIndex];
        seenIndexes.delete(oldest);
        bytes -= seen.text.length;
      }
    }
    return text;
  }

  /** One GET, following redirects; credentials and trust are chosen for each hop's URL. */
  private async get(
    start: string,
    request: { maxBytes: number; what: string; headers?: Record<string, string>; allowNotModified?: boolean },
  ): Promise<{ status: number; body: Buffer; etag?: string; lastModified?: string }> {
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const parsed = new URL(url);
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new ChartFetchError("refused", `${request.what}: ${safe(url)} is not an http(s) URL`);
      const entry = credentialsFor(this.options.credentials, url);
      let auth: ResolvedChartAuth = { secrets: [] };
      if (entry) {
        try {
          auth = await resolveChartAuth(entry, this.options.env);
        } catch (error) {
          throw new ChartFetchError("refused", error instanceof Error ? error.message : "cannot read the chart credentials");
        }
      }
      const response = await this.once(parsed, request, auth);
      if (response.status >= 300 && response.status < 400 && response.status !== 304) {
        if (!response.location) throw new ChartFetchError("invalid", `${request.what}: ${safe(url)} redirected without a Location`);
        try {
          url = new URL(response.location, url).toString();
        } catch {
          throw new ChartFetchError("invalid", `${request.what}: ${safe(url)} redirected to something that is not a URL`);
        }
        continue;
      }
      if (response.status === 304 && request.allowNotModified) return response;
      if (response.status === 200) return response;
      throw statusError(response.status, request.what, url, entry !== undefined && auth.authorization !== undefined);
    }
    throw new ChartFetchError("invalid", `${request.what}: more than ${MAX_REDIRECTS} redirects from ${safe(start)}`);
  }

  private once(
    url: URL,
    request: { maxBytes: number; what: string; headers?: Record<string, string> },
    auth: ResolvedChartAuth,
  ): Promise<{ status: number; body: Buffer; location?: string; etag?: string; lastModified?: string }> {
    // A literal address is connected to without a lookup, so it is checked here.
    const literal = literalHostProblem(url, this.options.allowInternal);
    if (literal !== undefined) return Promise.reject(new ChartFetchError("refused", literal));
    const headers: Record<string, string> = { "user-agent": "bosun", accept: "*/*", ...request.headers };
    // Never over plain HTTP: the credentials list refuses http:// prefixes, and this is the second lock.
    if (auth.authorization !== undefined && url.protocol === "https:") headers.authorization = auth.authorization;
    const common = {
      method: "GET",
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port === "" ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      timeout: this.options.timeoutMs,
      lookup: this.lookup(url),
      // A fresh connection per request: a pooled socket would skip the address check of `lookup`.
      agent: false,
      ...(this.signal ? { signal: this.signal } : {}),
    };
    return new Promise((resolve, reject) => {
      const onResponse = (res: http.IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          // The body of a redirect or an error is not read: it could be endless.
          res.destroy();
          resolve({ status, body: Buffer.alloc(0), ...(typeof res.headers.location === "string" ? { location: res.headers.location } : {}) });
          return;
        }
        const declared = Number(res.headers["content-length"] ?? "0");
        if (declared > request.maxBytes) {
          res.destroy();
          reject(tooLarge(request, url));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxBytes) {
            res.destroy();
            reject(tooLarge(request, url));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          resolve({
            status,
            body: Buffer.concat(chunks),
            ...(typeof res.headers.etag === "string" ? { etag: res.headers.etag } : {}),
            ...(typeof res.headers["last-modified"] === "string" ? { lastModified: res.headers["last-modified"] } : {}),
          });
        });
        res.on("error", (error) => {
          reject(connectError(error, request.what, url));
        });
      };
      const req =
        url.protocol === "https:"
          ? https.request({ ...common, ca: auth.ca === undefined ? undefined : [...tls.rootCertificates, auth.ca], cert: auth.cert, key: auth.key, servername: net.isIP(common.host) ? undefined : common.host }, onResponse)
          : http.request(common, onResponse);
      const timeout = (): void => {
        req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" }));
      };
      req.on("timeout", timeout);
      // The socket timeout only measures silence: a server that drips bytes is stopped by this deadline.
      const deadline = setTimeout(timeout, this.options.timeoutMs);
      req.on("close", () => {
        clearTimeout(deadline);
      });
      req.on("error", (error) => {
        reject(error instanceof ChartFetchError ? error : connectError(error, request.what, url));
      });
      req.end();
    });
  }

  /**
   * A `lookup` that refuses internal addresses unless allowed, checking the addresses actually connected
   * to. Node 20 asks for every address (`all: true`, for happy eyeballs) or for one; both forms are kept.
   */
  private lookup(url: URL): net.LookupFunction {
    const allowInternal = this.options.allowInternal;
    const refuse = (hostname: string, address: string): ChartFetchError | undefined => {
      const cls = classifyAddress(address);
      if (cls === "public" || allowInternal) return undefined;
      return new ChartFetchError("refused", `${safe(url.toString())}: the host ${hostname} resolves to ${address}, a ${cls} address: bosun fetches charts only from public hosts unless the operator allows internal ones (--allow-internal-chart-repos)`);
    };
    return ((hostname: string, options: dns.LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
      dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) {
          callback(error, options.all ? [] : "");
          return;
        }
        for (const entry of addresses) {
          const problem = refuse(hostname, entry.address);
          if (problem) {
            callback(problem, options.all ? [] : "");
            return;
          }
        }
        const first = addresses[0];
        if (options.all) callback(null, addresses);
        else if (first) callback(null, first.address, first.family);
        else callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "");
      });
    });
  }
}

function statusError(status: number, what: string, url: string, sentCredentials: boolean): ChartFetchError {
  const where = `${what} at ${safe(url)}`;
  if (status === 401) {
    return new ChartFetchError(
      "unauthorized",
      sentCredentials
        ? `${where}: the repository refused the configured credentials (401 Unauthorized); check the chart credentials entry for it`
        : `${where}: the repository needs credentials (401 Unauthorized); configure them in the chart credentials (--chart-credentials, docs/chart-repositories.md)`,
    );
  }
  if (status === 403) return new ChartFetchError("forbidden", `${where}: the repository forbids access (403 Forbidden)${sentCredentials ? " to the configured credentials" : ""}`);
  if (status === 404) return new ChartFetchError("not-found", `${where}: not found (404)`);
  return new ChartFetchError(status >= 500 ? "unreachable" : "invalid", `${where}: the repository answered ${status}`);
}

const TLS_TRUST_CODES = new Set(["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT"]);

function connectError(error: unknown, what: string, url: URL): ChartFetchError {
  if (error instanceof ChartFetchError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const where = `${what} at ${safe(url.toString())}`;
  if (TLS_TRUST_CODES.has(code)) {
    return new ChartFetchError("tls", `${where}: TLS: the server's certificate is not signed by a trusted CA (${code}); add the repository's CA bundle as caFile in its chart credentials entry`);
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") return new ChartFetchError("tls", `${where}: TLS: the server's certificate is not valid now (${code})`);
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return new ChartFetchError("tls", `${where}: TLS: the server's certificate does not name ${url.hostname} (${code})`);
  if (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS")) return new ChartFetchError("tls", `${where}: TLS handshake failed (${code})`);
  return new ChartFetchError("unreachable", `${where}: the repository is unreachable (${code === "" ? "connection failed" : code})`);
}

function tooLarge(request: { maxBytes: number; what: string }, url: URL): ChartFetchError {
  return new ChartFetchError("too-large", `${request.what} at ${safe(url.toString())} is larger than the limit of ${request.maxBytes} bytes`);
}

/** Whether a repository URL is an OCI registry path (by its parsed scheme: `OCI://` is one too). */
function isOci(repo: string): boolean {
  try {
    return new URL(repo).protocol === "oci:";
  } catch {
    return false;
  }
}
