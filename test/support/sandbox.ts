/**
 * Helpers for integration tests on the shared sandbox: a KubeConfig and API clients per cluster, the
 * built CLI, and polling.
 */
import path from "node:path";
import { execa } from "execa";
import { inject } from "vitest";
import { clientsFor, loadKubeConfig, type KubeClients } from "../../src/kube/config.js";
import { KubeRest } from "../../src/kube/rest.js";
import type { SharedSandbox } from "./global-setup.js";

/** The shared sandbox started by the global setup. */
export function sharedSandbox(): SharedSandbox {
  return inject("sandbox");
}

/** API clients for one cluster of the shared sandbox. */
export function sandboxCluster(cluster: string, kubeconfig = sharedSandbox().kubeconfig): KubeClients {
  return clientsFor(loadKubeConfig(kubeconfig, cluster));
}

/**
 * bosun's REST client for one cluster of the shared sandbox (its requests carry User-Agent `bosun`, so the
 * audit log counts them as bosun's: use it for what bosun itself would do).
 */
export function sandboxRest(cluster: string, kubeconfig = sharedSandbox().kubeconfig): KubeRest {
  return new KubeRest(loadKubeConfig(kubeconfig, cluster), { cluster });
}

/** Path of the built CLI. */
export const BOSUN_CLI = path.resolve(import.meta.dirname, "../../dist/cli/main.js");

/** What a run of the CLI printed and how it exited. */
export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `bosun` CLI; never throws on a non-zero exit (tests assert on `exitCode`). */
export async function bosun(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [BOSUN_CLI, ...args], {
    cwd: options.cwd,
    env: options.env,
    reject: false,
    timeout: 600_000,
  });
  return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** Polls `check` every 250 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Deletes namespaces and waits until they are gone: a namespace that is still terminating refuses new
 * objects (HTTP 403), which would break the next test that creates the same names.
 */
export async function deleteNamespaces(core: KubeClients["core"], names: readonly string[], timeoutMs = 120_000): Promise<void> {
  for (const name of names) await core.deleteNamespace({ name }).catch(() => undefined);
  await eventually(`namespaces ${names.join(", ")} gone`, async () => {
    const remaining = await Promise.all(names.map((name) => core.readNamespace({ name }).then(() => name, () => undefined)));
    return remaining.every((n) => n === undefined) ? true : undefined;
  }, timeoutMs);
}

/**
 * Forgets add-ons a test applied to a cluster: their entries in bosun's inventory (`bosun-system/bosun-inventory`).
 * Together with deleting their namespaces this leaves the cluster as the other test files expect it: an
 * inventory entry left behind would show up in their plans as an add-on to uninstall.
 */
export async function forgetAddons(cluster: string, names: readonly string[]): Promise<void> {
  const { removeInventoryEntry } = await import("../../src/addons/inventory.js");
  const rest = sandboxRest(cluster);
  for (const name of names) await removeInventoryEntry(rest, name);
}
