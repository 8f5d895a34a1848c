/**
 * `bosun sandbox down`: stops exactly the processes a sandbox recorded (checked by command line, so a
 * reused pid is never signalled) and removes its directory.
 */
import { BosunError } from "../errors.js";
import { stopDetached } from "../tools/detached.js";
import { removeSandboxDir, sandboxLayout } from "./layout.js";
import { allProcesses, readState, type SandboxState } from "./state.js";

/** What `down` did. */
export interface DownResult {
  found: boolean;
  stopped: number;
}

/** Stops a sandbox and removes its state; a sandbox that does not exist is not an error. */
export async function sandboxDown(root: string, name: string): Promise<DownResult> {
  const layout = sandboxLayout(root, name);
  const state = await readState(layout);
  if (!state) {
    await removeSandboxDir(layout);
    return { found: false, stopped: 0 };
  }
  const stopped = await stopSandboxProcesses(state);
  await removeSandboxDir(layout);
  return { found: true, stopped };
}

/**
 * Stops every recorded process: the agent and controllers first, then the API servers, etcd last.
 * Processes of one tier stop in parallel.
 */
export async function stopSandboxProcesses(state: SandboxState): Promise<number> {
  const processes = allProcesses(state).filter((p) => p.pid > 0);
  const tiers = [
    processes.filter((p) => p.component === "agent" || p.component === "kwok" || p.component === "kube-scheduler" || p.component === "kube-controller-manager"),
    processes.filter((p) => p.component === "kube-apiserver"),
    processes.filter((p) => p.component === "etcd"),
  ];
  const survivors: string[] = [];
  for (const tier of tiers) {
    const results = await Promise.all(tier.map(async (p) => ({ p, stopped: await stopDetached(p.pid, state.dir) })));
    for (const { p, stopped } of results) if (!stopped) survivors.push(`${p.component} (pid ${p.pid})`);
  }
  if (survivors.length > 0) {
    // Keep the state: it is the only record of what still runs.
    throw new BosunError(`could not stop ${survivors.join(", ")}; state kept in ${state.dir}`, { reason: "SandboxStartFailed", retryable: true });
  }
  return processes.length;
}
