/**
 * `bosun sandbox status`: for every cluster, whether its processes run, whether its API server answers
 * `/readyz`, the version it reports and how many nodes it has.
 */
import { clientsFor, loadKubeConfig } from "../kube/config.js";
import { isOwnProcess } from "../tools/detached.js";
import { apiserverReady, apiserverVersion, etcdHealthy } from "./health.js";
import { sandboxLayout } from "./layout.js";
import { allProcesses, readState, type ComponentName, type SandboxState } from "./state.js";

/** Health of one sandbox process. */
export interface ProcessHealth {
  component: ComponentName;
  pid: number;
  port?: number;
  running: boolean;
}

/** Health of one sandbox cluster. */
export interface ClusterHealth {
  name: string;
  server: string;
  ready: boolean;
  version?: string;
  nodes?: number;
  processes: ProcessHealth[];
}

/** Health of a whole sandbox. */
export interface SandboxHealth {
  name: string;
  mode: string;
  dir: string;
  kubeconfig: string;
  createdAt: string;
  etcd: ProcessHealth & { healthy: boolean };
  agent?: ProcessHealth;
  clusters: ClusterHealth[];
  healthy: boolean;
}

/** True when any of the sandbox's processes still runs. */
export async function sandboxRunning(state: SandboxState): Promise<boolean> {
  for (const p of allProcesses(state)) {
    if (p.pid > 0 && (await isOwnProcess(p.pid, state.dir))) return true;
  }
  return false;
}

/** Checks a sandbox; undefined when there is none of that name. */
export async function sandboxStatus(root: string, name: string): Promise<SandboxHealth | undefined> {
  const layout = sandboxLayout(root, name);
  const state = await readState(layout);
  if (!state) return undefined;
  const processHealth = async (p: { component: ComponentName; pid: number; port?: number }): Promise<ProcessHealth> => ({
    component: p.component,
    pid: p.pid,
    ...(p.port === undefined ? {} : { port: p.port }),
    running: p.pid > 0 && (await isOwnProcess(p.pid, state.dir)),
  });
  const etcd = { ...(await processHealth(state.etcd)), healthy: await etcdHealthy(state.etcd.clientUrl) };
  const clusters = await Promise.all(
    state.clusters.map(async (c): Promise<ClusterHealth> => {
      const processes = await Promise.all(c.processes.map(processHealth));
      const health: ClusterHealth = { name: c.name, server: c.server, ready: false, processes };
      try {
        const kc = loadKubeConfig(layout.kubeconfig, c.name);
        health.ready = await apiserverReady(kc);
        if (health.ready) {
          const version = await apiserverVersion(kc);
          if (version) health.version = version;
          health.nodes = (await clientsFor(kc).core.listNode()).items.length;
        }
      } catch {
        health.ready = false;
      }
      return health;
    }),
  );
  const agent = state.agent ? await processHealth(state.agent) : undefined;
  const healthy =
    etcd.healthy && clusters.every((c) => c.ready && c.processes.every((p) => p.running)) && (agent?.running ?? true);
  return {
    name: state.name,
    mode: state.mode,
    dir: state.dir,
    kubeconfig: layout.kubeconfig,
    createdAt: state.createdAt,
    etcd,
    ...(agent ? { agent } : {}),
    clusters,
    healthy,
  };
}
