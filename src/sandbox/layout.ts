/**
 * Where a sandbox keeps its files. Everything lives under `<root>/<name>/` (default `.bosun/sandbox/<name>/`),
 * so `down` can remove a sandbox by removing one directory, and every process's command line names that
 * directory (which is how `down` recognises its own processes).
 */
import fs from "node:fs/promises";
import path from "node:path";
import { InvalidInputError } from "../errors.js";

/** Default parent of all sandboxes, relative to the working directory. */
export const DEFAULT_SANDBOX_ROOT = ".bosun/sandbox";

/** Default sandbox name. */
export const DEFAULT_SANDBOX_NAME = "default";

/** Paths of one sandbox. */
export interface SandboxLayout {
  name: string;
  dir: string;
  stateFile: string;
  kubeconfig: string;
  caCert: string;
  caKey: string;
  etcdData: string;
  logs: string;
  /** One `<process>.pid` file per started process, beside state.json, for people and scripts. */
  pids: string;
  kwokStages: string;
  /** The audit policy every API server of the sandbox logs its writes with. */
  auditPolicy: string;
  cluster: (cluster: string) => ClusterLayout;
}

/** Paths of one cluster inside a sandbox. */
export interface ClusterLayout {
  dir: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokens: string;
  /** A kubeconfig with this cluster alone, for the sandbox's own components. */
  kubeconfig: string;
  kcmCertDir: string;
  schedulerCertDir: string;
  /**
   * The API server's audit log (JSON lines, one event per write request): tests prove claims such as
   * "no write after the lock was lost" or "a plan writes nothing" from it, not from bosun's own counters.
   */
  auditLog: string;
  log: (component: string) => string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** File that marks a directory as a sandbox's own, so nothing else is ever removed as one. */
export const SANDBOX_MARKER = ".bosun-sandbox";

/**
 * Computes the layout of sandbox `name` under `root`. The name must be a DNS-1123 label, so the sandbox
 * directory is always a direct child of `root` (never `..`, `/` or a path).
 */
export function sandboxLayout(root: string, name: string): SandboxLayout {
  if (!DNS_LABEL.test(name) || name.length > 63) {
    throw new InvalidInputError(`--name: "${name}" is not a DNS-1123 label (lower-case letters, digits and "-")`);
  }
  const dir = path.join(path.resolve(root), name);
  const logs = path.join(dir, "logs");
  return {
    name,
    dir,
    stateFile: path.join(dir, "state.json"),
    kubeconfig: path.join(dir, "kubeconfig"),
    caCert: path.join(dir, "pki", "ca.crt"),
    caKey: path.join(dir, "pki", "ca.key"),
    etcdData: path.join(dir, "etcd"),
    logs,
    pids: path.join(dir, "pids"),
    kwokStages: path.join(dir, "kwok-stages.yaml"),
    auditPolicy: path.join(dir, "audit-policy.yaml"),
    cluster: (cluster) => {
      const clusterDir = path.join(dir, "clusters", cluster);
      return {
        dir: clusterDir,
        servingCert: path.join(clusterDir, "apiserver.crt"),
        servingKey: path.join(clusterDir, "apiserver.key"),
        serviceAccountKey: path.join(clusterDir, "sa.key"),
        serviceAccountPub: path.join(clusterDir, "sa.pub"),
        tokens: path.join(clusterDir, "tokens.csv"),
        kubeconfig: path.join(clusterDir, "admin.kubeconfig"),
        kcmCertDir: path.join(clusterDir, "kcm"),
        schedulerCertDir: path.join(clusterDir, "scheduler"),
        auditLog: path.join(logs, `${cluster}-audit.log`),
        log: (component) => path.join(logs, `${cluster}-${component}.log`),
      };
    },
  };
}

/**
 * Removes a sandbox directory, but only one bosun made: it must hold the marker file or a state.json.
 * Anything else at that path is left alone and reported.
 */
export async function removeSandboxDir(layout: SandboxLayout): Promise<void> {
  const entries = await fs.readdir(layout.dir).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  });
  if (entries === undefined) return;
  if (entries.length > 0 && !entries.includes(SANDBOX_MARKER) && !entries.includes("state.json")) {
    throw new InvalidInputError(`${layout.dir} exists but is not a bosun sandbox (no ${SANDBOX_MARKER}); not removing it`);
  }
  await fs.rm(layout.dir, { recursive: true, force: true });
}
