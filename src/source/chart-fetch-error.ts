/**
 * What fetching a chart yields and how it fails, shared by the HTTP(S) fetcher (`chart-fetch.ts`) and the
 * OCI pull (`chart-oci.ts`).
 */
import net from "node:net";
import { BosunError } from "../errors.js";
import { classifyAddress, redactUrl } from "../spec/chart-repo-url.js";

/** What kind of failure a fetch met (for callers that act on it, and for tests). */
export type ChartFetchFailure = "unauthorized" | "forbidden" | "not-found" | "tls" | "unreachable" | "too-large" | "digest-mismatch" | "invalid" | "refused";

/** A chart could not be fetched. The message names the repository, never a credential. */
export class ChartFetchError extends BosunError {
  readonly failure: ChartFetchFailure;
  constructor(failure: ChartFetchFailure, message: string) {
    super(message, { reason: failure === "unauthorized" || failure === "forbidden" ? "Unauthorized" : failure === "unreachable" ? "Unreachable" : "RenderFailed", retryable: failure === "unreachable" });
    this.failure = failure;
  }
}

/** A chart archive on local disk, with what pins it. */
export interface FetchedChart {
  /** The `.tgz` in bosun's chart cache. */
  file: string;
  /** SHA-256 of the archive, lower-case hex. */
  digest: string;
  /** Where it was downloaded from (without user info). */
  url: string;
}

/** Whether a literal-IP host is allowed (no lookup happens for it). */
export function literalHostProblem(url: URL, allowInternal: boolean): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(host) === 0 || allowInternal) return undefined;
  const cls = classifyAddress(host);
  return cls === "public" ? undefined : `${safe(url.toString())}: ${host} is a ${cls} address: bosun fetches charts only from public hosts unless the operator allows internal ones (--allow-internal-chart-repos)`;
}

/** A URL as messages show it: without user info (or a placeholder when it does not parse). */
export function safe(url: string): string {
  try {
    return redactUrl(new URL(url));
  } catch {
    return "(not a URL)";
  }
}

