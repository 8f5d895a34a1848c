/**
 * Turns whatever isomorphic-git, Node's HTTP stack or the transfer guards throw into one `GitSourceError`
 * (reason `GitFailed`) whose message says what failed and what to do, decided on error codes and HTTP
 * status — never on message text. Nothing the server chose (status text, response body) is kept: a server
 * may echo the credentials it was sent. Other lower-layer messages are kept only as a cause, scrubbed of
 * every known form of the credentials.
 */
import { BosunError } from "../errors.js";
import { scrub, type AuthOutcome } from "./credentials.js";

/** A Git network, authentication or repository-content failure while opening a fleet source. */
export class GitSourceError extends BosunError {
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, { reason: "GitFailed", ...options });
  }
}

/** The deadline for the network part of opening a source passed. */
export class GitTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${formatSeconds(timeoutMs)}`);
    this.name = "GitTimeoutError";
  }
}

/** The server sent more than bosun accepts for one fetch. */
export class TransferLimitError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the server sent more than ${formatBytes(maxBytes)}`);
    this.name = "TransferLimitError";
  }
}

/**
 * What a lower layer said, with every known secret scrubbed; the cause of a `GitSourceError`. Only the
 * message, code and HTTP status are copied, so nothing else the original carried (response bodies,
 * request options) can leak through the cause chain.
 */
export class GitTransportFailure extends Error {
  readonly code: string | undefined;
  readonly statusCode: number | undefined;
  constructor(message: string, code: string | undefined, statusCode: number | undefined) {
    super(message);
    this.name = "GitTransportFailure";
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** What was being done when a failure happened, to build its message. */
export interface FailureContext {
  /** e.g. `fetching https://host/fleet.git ref main`; must not contain secrets. */
  action: string;
  /** Host of the remote, for network errors. */
  host: string;
  auth: AuthOutcome;
  /** Every form of the credentials, to scrub from lower-layer messages. */
  secrets: readonly string[];
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

/** Wraps a failure of the Git conversation described by `context` into a `GitSourceError`. */
export function gitFailure(error: unknown, context: FailureContext): GitSourceError {
  const { detail, retryable } = describe(error, context);
  const fields = fieldsOf(error);
  // An HTTP error's own message repeats the server's status text, which the server chose: keep only the code.
  const lower = fields.statusCode !== undefined ? `HTTP ${fields.statusCode}` : scrub(fields.message, context.secrets);
  const cause = new GitTransportFailure(lower, fields.code, fields.statusCode);
  return new GitSourceError(`${context.action}: ${detail}`, { cause, retryable });
}

function describe(error: unknown, context: FailureContext): { detail: string; retryable: boolean } {
  if (error instanceof GitTimeoutError) return { detail: `timed out (${error.message})`, retryable: true };
  if (error instanceof TransferLimitError) return { detail: `${error.message}; refusing to fetch more`, retryable: false };
  const { code, statusCode } = fieldsOf(error);
  if (code === "UserCanceledError" && context.auth.refusedInsecure) {
    return {
      detail:
        `the server asks for credentials over plain http; bosun sends ${context.auth.source ?? "credentials"} ` +
        "only over https:// (or to a loopback address)",
      retryable: false,
    };
  }
  if (code === "HttpError" && statusCode !== undefined) return describeHttp(statusCode, context.auth);
  if (code === "SmartHttpError") {
    return { detail: "the server did not answer as a Git smart-HTTP server; check that the URL is a Git repository", retryable: false };
  }
  if (code !== undefined && NETWORK_CODES.has(code)) return { detail: `cannot reach ${context.host} (${code})`, retryable: true };
  if (code !== undefined && isTlsCode(code)) {
    return { detail: `TLS verification of ${context.host} failed (${code}); set NODE_EXTRA_CA_CERTS for a private CA`, retryable: false };
  }
  const { message } = fieldsOf(error);
  return { detail: scrub(code ? `${code}: ${message}` : message, context.secrets), retryable: false };
}

/** Node's certificate and TLS failure codes (`CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, …). */
function isTlsCode(code: string): boolean {
  return code.includes("CERT") || code.startsWith("ERR_TLS_") || code.startsWith("UNABLE_TO_");
}

/**
 * True for failures of the conversation itself (HTTP status, auth, network, TLS, deadline, size), as
 * opposed to a server declining one request: retrying another request would fail the same way.
 */
export function isTransportFailure(error: unknown): boolean {
  if (error instanceof GitTimeoutError || error instanceof TransferLimitError) return true;
  const { code } = fieldsOf(error);
  if (code === undefined) return false;
  return code === "HttpError" || code === "UserCanceledError" || code === "SmartHttpError" || NETWORK_CODES.has(code) || isTlsCode(code);
}

const SET_CREDENTIALS = "set BOSUN_GIT_TOKEN, or BOSUN_GIT_USERNAME and BOSUN_GIT_PASSWORD";

/**
 * The message for an HTTP status. The status text and body are left out on purpose: the server chose them,
 * and a hostile or misconfigured one can put the credentials it was sent there.
 */
function describeHttp(status: number, auth: AuthOutcome): { detail: string; retryable: boolean } {
  const http = `HTTP ${status}`;
  // Azure DevOps answers 203 with a sign-in page where others send 401; isomorphic-git treats both alike.
  if (status === 401 || status === 203) {
    if (auth.source === undefined) return { detail: `authentication required (${http}): ${SET_CREDENTIALS}`, retryable: false };
    return {
      detail: `authentication failed (${http}): the server rejected the credentials from ${auth.source}; check them and their access to the repository`,
      retryable: false,
    };
  }
  if (status === 403) {
    const hint = auth.source === undefined ? SET_CREDENTIALS : `the credentials from ${auth.source} lack read access to the repository`;
    return { detail: `access denied (${http}): ${hint}`, retryable: false };
  }
  if (status === 404) {
    // GitHub and GitLab answer 404, not 401, for a private repository the caller may not see.
    const hint = auth.source === undefined ? `check the URL; if the repository is private, ${SET_CREDENTIALS}` : `check the URL and that the credentials from ${auth.source} can read it`;
    return { detail: `repository not found (${http}): ${hint}`, retryable: false };
  }
  if (status === 429 || status >= 500) return { detail: `the server failed (${http}); try again later`, retryable: true };
  return { detail: `unexpected answer (${http})`, retryable: false };
}

interface ErrorFields {
  message: string;
  code: string | undefined;
  statusCode: number | undefined;
}

/** Reads the fields bosun decides on, from an error of any shape. */
function fieldsOf(error: unknown): ErrorFields {
  if (!(error instanceof Error)) return { message: String(error), code: undefined, statusCode: undefined };
  const record = error as Error & { code?: unknown; data?: unknown };
  const data = typeof record.data === "object" && record.data !== null ? (record.data as Record<string, unknown>) : {};
  return {
    message: error.message,
    code: typeof record.code === "string" ? record.code : undefined,
    statusCode: typeof data.statusCode === "number" ? data.statusCode : undefined,
  };
}

/** `512 MiB`, `64 KiB`, `200 bytes`: a size for messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${Math.round(bytes / 2 ** 20)} MiB`;
  if (bytes >= 2 ** 10) return `${Math.round(bytes / 2 ** 10)} KiB`;
  return `${bytes} bytes`;
}

/** `90 s`, `1.5 s`: a duration for messages. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}
