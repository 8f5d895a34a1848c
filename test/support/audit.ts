/**
 * Reads a sandbox API server's audit log (JSON lines, writes only; see AUDIT_POLICY in
 * src/sandbox/components.ts). Claims such as "a plan writes nothing" or "no write follows the loss of the
 * lock" are proved from the API server's own record, never from bosun's counters.
 */
import fs from "node:fs/promises";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { sharedSandbox } from "./sandbox.js";

/** The fields of an audit event the tests read. */
export interface AuditEvent {
  verb: string;
  requestURI: string;
  userAgent?: string;
  user?: { username?: string };
  responseStatus?: { code?: number };
  /** When the API server received the request (RFC 3339 with microseconds). */
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** Path of one cluster's audit log in the shared sandbox (or in another sandbox under `root`/`name`). */
export function auditLogPath(cluster: string, root = sharedSandbox().root, name = sharedSandbox().name): string {
  return sandboxLayout(root, name).cluster(cluster).auditLog;
}

/** Every write the API server recorded so far (an absent log means none). */
export async function auditEvents(cluster: string, file = auditLogPath(cluster)): Promise<AuditEvent[]> {
  const text = await fs.readFile(file, "utf8").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  });
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as AuditEvent);
}

/**
 * Writes sent by bosun itself or by the helm it runs: its `KubeRest` User-Agent is `bosun`; helm's
 * Kubernetes client names the program (`Helm/…`, or client-go's default from the binary's file name,
 * `helm-v4.3.1/…` for a cached helm).
 */
export function bosunWrites(events: readonly AuditEvent[]): AuditEvent[] {
  return bosunRequests(events).filter((e) => !isDryRun(e));
}

/** Every write request bosun or its helm sent, server-side dry-runs included. */
export function bosunRequests(events: readonly AuditEvent[]): AuditEvent[] {
  return events.filter((e) => e.userAgent === "bosun" || /^helm\b/i.test(e.userAgent ?? ""));
}

/**
 * A server-side dry-run (`?dryRun=All`): the API server runs admission and returns the result but persists
 * nothing, which is how a plan computes its diffs. Such a request is not a write.
 */
export function isDryRun(event: AuditEvent): boolean {
  const query = event.requestURI.split("?")[1] ?? "";
  return new URLSearchParams(query).getAll("dryRun").includes("All");
}

/** A mark in one cluster's audit log: `writesSince(mark)` returns only the events recorded after it. */
export async function auditMark(cluster: string, file = auditLogPath(cluster)): Promise<() => Promise<AuditEvent[]>> {
  const before = (await auditEvents(cluster, file)).length;
  return async () => (await auditEvents(cluster, file)).slice(before);
}
