/**
 * The record of a running sandbox (`state.json`): which processes it started, on which ports, so that
 * `status` and `down` work from any later command.
 */
import fs from "node:fs/promises";
import { BosunError } from "../errors.js";
import type { SandboxLayout } from "./layout.js";

/** How much of a control plane each cluster runs. */
export type SandboxMode = "lite" | "full";

/** The components a sandbox can run. */
export type ComponentName = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kwok" | "agent";

/** One started process. */
export interface ProcessRecord {
  component: ComponentName;
  pid: number;
  /** The port it serves on, when it has one. */
  port?: number;
  log: string;
}

/** One sandbox cluster. */
export interface ClusterState {
  name: string;
  server: string;
  apiserverPort: number;
  etcdPrefix: string;
  /** The Kubernetes version it was seeded at, if seeded from a sandbox.yaml. */
  seededVersion?: string;
  processes: ProcessRecord[];
}

/** Everything `status` and `down` need to know about a sandbox. */
export interface SandboxState {
  apiVersion: "bosun.dev/sandbox-state/v1";
  name: string;
  mode: SandboxMode;
  dir: string;
  createdAt: string;
  kubernetesVersion: string;
  etcd: ProcessRecord & { clientUrl: string };
  agent?: ProcessRecord;
  clusters: ClusterState[];
}

/** Reads a sandbox's state, or undefined when it has none. */
export async function readState(layout: SandboxLayout): Promise<SandboxState | undefined> {
  let text: string;
  try {
    text = await fs.readFile(layout.stateFile, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const state = JSON.parse(text) as Partial<SandboxState>;
  if (state.apiVersion !== "bosun.dev/sandbox-state/v1") {
    throw new BosunError(`${layout.stateFile}: unknown sandbox state version ${String(state.apiVersion)}`, {
      reason: "InvalidInput",
    });
  }
  return state as SandboxState;
}

/** Writes a sandbox's state atomically (temp file + rename). */
export async function writeState(layout: SandboxLayout, state: SandboxState): Promise<void> {
  const tmp = `${layout.stateFile}.tmp-${process.pid}`;
  await fs.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
  await fs.rename(tmp, layout.stateFile);
}

/** Every process a sandbox started, etcd last (the API servers need it until they are gone). */
export function allProcesses(state: SandboxState): ProcessRecord[] {
  const clusterProcesses = state.clusters.flatMap((c) => [...c.processes].reverse());
  return [...(state.agent ? [state.agent] : []), ...clusterProcesses, state.etcd];
}
