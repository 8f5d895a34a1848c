/**
 * Readiness checks for the sandbox's servers. Each check is one bounded request; the wait loops poll until
 * a deadline, and fail early when the process being waited for has died (with the tail of its log).
 */
import fs from "node:fs/promises";
import http from "node:http";
import type * as k8s from "@kubernetes/client-node";
import { BosunError } from "../errors.js";
import { KubeRest } from "../kube/rest.js";
import { isOwnProcess } from "../tools/detached.js";

/** True when etcd answers `/health` with `"health":"true"`. */
export async function etcdHealthy(clientUrl: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(`${clientUrl}/health`, { timeout: 2_000 }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => {
        resolve(response.statusCode === 200 && body.includes('"health":"true"'));
      });
      response.on("error", () => {
        resolve(false);
      });
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => {
      resolve(false);
    });
  });
}

/** One GET with a short timeout on a fresh connection (a probe must not reuse one the server dropped). */
async function probe(kc: k8s.KubeConfig, path: string): Promise<{ status: number; body: string }> {
  const rest = new KubeRest(kc, { cluster: kc.getCurrentContext(), timeoutMs: 3_000 });
  try {
    return await rest.send({ method: "GET", path });
  } finally {
    rest.close();
  }
}

/** True when the API server answers `/readyz` with 200. */
export async function apiserverReady(kc: k8s.KubeConfig): Promise<boolean> {
  try {
    const response = await probe(kc, "/readyz");
    return response.status === 200;
  } catch {
    return false;
  }
}

/** What `/version` reports, e.g. `v1.36.3`, or undefined when unreachable. */
export async function apiserverVersion(kc: k8s.KubeConfig): Promise<string | undefined> {
  try {
    const response = await probe(kc, "/version");
    if (response.status !== 200) return undefined;
    return (JSON.parse(response.body) as { gitVersion?: string }).gitVersion;
  } catch {
    return undefined;
  }
}

/** A process to watch while waiting: the wait fails as soon as it dies. */
export interface WatchedProcess {
  what: string;
  pid: number;
  marker: string;
  log: string;
}

/** Polls `check` until it returns true, the deadline passes, or a watched process dies. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  watched: readonly WatchedProcess[],
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    throwIfAborted(signal);
    if (await check()) return;
    for (const proc of watched) {
      if (!(await isOwnProcess(proc.pid, proc.marker))) {
        throw new BosunError(`${proc.what} exited while waiting for ${what}; its log ${proc.log} ends with:\n${await logTail(proc.log)}`, {
          reason: "SandboxStartFailed",
        });
      }
    }
    if (Date.now() > deadline) {
      const logs = await Promise.all(watched.map(async (p) => `--- ${p.log}\n${await logTail(p.log)}`));
      throw new BosunError(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}\n${logs.join("\n")}`, {
        reason: "SandboxStartFailed",
        retryable: true,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The last lines of a log file (for error messages). */
export async function logTail(file: string, lines = 15): Promise<string> {
  try {
    const text = await fs.readFile(file, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Throws a BosunError when `signal` was aborted (the user interrupted `up`). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BosunError("interrupted", { reason: "SandboxStartFailed" });
}
