/**
 * Who a process is, and whether it still runs, for the two locks that take over from a crashed holder:
 * the cluster Lease (`src/apply/lock.ts`) and the directory lock (`src/lock.ts`). One check for both, so
 * they agree on what "the holder is gone" means.
 *
 * A pid alone is not enough: pids are reused (a crashed holder's pid may belong to a later process), and two
 * containers sharing a hostname or a directory see different processes under the same pid. A token
 * `<boot id>/<pid namespace>/<pid>/<start time>` (from /proc) names one process once: the boot id and pid
 * namespace say whose pids these are, the start time tells the holder from a later process with its pid.
 */
import { readFileSync, statSync } from "node:fs";

/**
 * This process as `<boot id>/<pid namespace>/<pid>/<start time>`, from /proc; null where /proc does not
 * tell (not Linux). Two containers can share a hostname — and reuse each other's pids — but never a boot
 * id together with a pid namespace; the start time tells a reused pid from the holder.
 */
export function processToken(pid: number = process.pid): string | null {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const namespace = statSync("/proc/self/ns/pid").ino;
    const started = processStartTime(pid);
    return started === null ? null : `${boot}/${namespace}/${pid}/${started}`;
  } catch {
    return null;
  }
}

/** A process's start time (clock ticks after boot, field 22 of `/proc/<pid>/stat`); null when it is gone or /proc does not tell. */
export function processStartTime(pid: number): string | null {
  try {
    // Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so count after its ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** What this machine can tell about the process a token names. */
export type ProcessState =
  /** This boot and pid namespace, and that pid is the process that wrote the token (or this process). */
  | "running"
  /** This boot and pid namespace, and that pid is gone or now belongs to a process started at another time. */
  | "gone"
  /** Written on another machine, or on this one before it restarted. */
  | "other-boot"
  /** Written in another pid namespace (another container) on this machine: its pids are not ours to probe. */
  | "other-namespace"
  /** Not a token, or this machine has no /proc to compare with. */
  | "unknown";

/**
 * Judges the process `token` names from this process (`self`, its own token). `startOf` reads a pid's
 * start time (tests pass their own).
 */
export function processState(token: string, self: string | null = processToken(), startOf: (pid: number) => string | null = processStartTime): ProcessState {
  const [boot, namespace, pidText, started, ...rest] = token.trim().split("/");
  const pid = Number(pidText);
  if (self === null || rest.length > 0 || started === undefined || started === "" || !Number.isInteger(pid) || pid <= 0) return "unknown";
  const [ourBoot, ourNamespace] = self.split("/");
  if (boot !== ourBoot) return "other-boot";
  if (namespace !== ourNamespace) return "other-namespace";
  if (pid === process.pid) return "running";
  return startOf(pid) === started ? "running" : "gone";
}

/** The pid a token (or a bare pid, as written where /proc does not exist) names; undefined if none. */
export function pidOf(recorded: string): number | undefined {
  const parts = recorded.trim().split("/");
  const pid = Number(parts.length === 4 ? parts[2] : parts[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * True when a process with this pid exists here (it may belong to someone else). Only for pids recorded
 * without a token — where /proc does not exist, or in a name (a build's temp directory) — on this machine.
 */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
