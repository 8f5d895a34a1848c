/**
 * Starts long-running programs (etcd, kube-apiserver, …) detached from bosun, so they outlive the command
 * that started them, with output appended to a log file; and stops them again by pid. The sandbox is the
 * only user. A recorded pid is only signalled while its command line still names the sandbox directory,
 * so a pid the kernel has since reused for another program is never touched.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { ToolNotFoundError } from "../errors.js";

/** A program to start in the background. */
export interface DetachedSpec {
  tool: string;
  file: string;
  args: readonly string[];
  logFile: string;
  cwd?: string;
  env?: Record<string, string>;
}

/** Starts a program in its own process group and returns its pid; it keeps running when bosun exits. */
export async function startDetached(spec: DetachedSpec): Promise<number> {
  const out = fs.openSync(spec.logFile, "a");
  try {
    const child = spawn(spec.file, [...spec.args], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ["ignore", out, out],
      // Explicit, so nothing inherited (a polluted Object.prototype.shell included) can turn this into a shell.
      shell: false,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        reject(error.code === "ENOENT" ? new ToolNotFoundError(spec.tool, `no executable at ${spec.file}`) : error);
      });
      child.once("spawn", () => {
        resolve(child.pid ?? -1);
      });
    });
    child.unref();
    return pid;
  } finally {
    fs.closeSync(out);
  }
}

/**
 * True when `pid` runs and, where /proc exists, one of its arguments is the directory `marker` or a path
 * inside it (so sandbox `/x/it` never matches a process of `/x/it2`).
 */
export async function isOwnProcess(pid: number, marker: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const cmdline = await fsp.readFile(`/proc/${pid}/cmdline`, "utf8");
    const state = await fsp.readFile(`/proc/${pid}/stat`, "utf8");
    // A zombie has exited; only its parent's bookkeeping keeps it listed.
    if (/\) Z /.test(state)) return false;
    return cmdline.split("\0").some((arg) => namesDirectory(arg, marker));
  } catch {
    // No /proc (not Linux): fall back to the pid alone.
    return process.platform !== "linux";
  }
}

function namesDirectory(arg: string, dir: string): boolean {
  const value = arg.includes("=") && arg.startsWith("--") ? arg.slice(arg.indexOf("=") + 1) : arg;
  return value === dir || value.startsWith(`${dir}/`);
}

/** True when `pid` no longer runs: no such process, or only a zombie waiting to be reaped. */
export async function processGone(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
  try {
    const state = await fsp.readFile(`/proc/${pid}/stat`, "utf8");
    return /\) [ZX] /.test(state);
  } catch {
    return process.platform === "linux";
  }
}

/**
 * Stops a process group started by `startDetached`: SIGTERM, then SIGKILL after `graceMs`, each sent only
 * after checking the pid is still ours (an exiting process has an empty command line, so the wait in
 * between only checks that it is gone). Returns false when it is still running afterwards.
 */
export async function stopDetached(pid: number, marker: string, graceMs = 10_000): Promise<boolean> {
  if (!(await isOwnProcess(pid, marker))) return true;
  signalGroup(pid, "SIGTERM");
  if (await waitGone(pid, graceMs)) return true;
  if (!(await isOwnProcess(pid, marker))) return true;
  signalGroup(pid, "SIGKILL");
  return waitGone(pid, 5_000);
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await processGone(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return processGone(pid);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group (every sandbox process leads its own), so helpers a program
    // started go too. No fallback to the bare pid: a group that is gone means the process is gone.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
