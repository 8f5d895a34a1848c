/**
 * A cross-process lock on a directory, so two bosun processes building the same binaries (or starting the
 * same sandbox) at once neither corrupt anything nor do the work twice. `mkdir` is atomic; the owner's
 * process token (`src/process-identity.ts`: boot id, pid namespace, pid, start time — a bare pid where /proc
 * does not exist) is written inside, so a lock left by a killed process is recognised and taken over, by the
 * same check the cluster Lease uses. Taking over is itself serialised by a second lock (`<lock>.takeover`),
 * and the taker re-reads the owner under it, so two waiters that both saw the same dead owner can never
 * both end up holding the lock.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { pidExists, pidOf, processState, processToken } from "./process-identity.js";

/** Releases a held lock. */
export type Release = () => Promise<void>;

/** What a lock directory's `owner` file says. */
interface Owner {
  pid: number;
  /** The owner file as written: a process token, or a bare pid. */
  recorded: string;
}

async function ownerOf(lockDir: string): Promise<Owner | undefined> {
  try {
    const recorded = (await fs.readFile(path.join(lockDir, "owner"), "utf8")).trim();
    const pid = pidOf(recorded);
    return pid === undefined ? undefined : { pid, recorded };
  } catch {
    return undefined;
  }
}

/**
 * True when the owner recorded in a lock directory is no longer running. A lock directory lives on this
 * machine's disk, so a token from another boot is from before a restart, and its holder is gone too; a token
 * from another pid namespace (a container sharing the directory) is presumed alive. A bare pid (written
 * where /proc does not exist) can only be probed.
 */
export function ownerIsGone(recorded: string, self: string | null = processToken(), startOf?: (pid: number) => string | null): boolean {
  if (!recorded.includes("/")) {
    const pid = pidOf(recorded);
    return pid !== undefined && !pidExists(pid);
  }
  const state = processState(recorded, self, startOf);
  return state === "gone" || state === "other-boot";
}

/**
 * Waits until the lock is free and takes it. `onWait` is told once who holds it, so a user sees why
 * nothing is happening.
 */
export async function acquireLock(lockDir: string, onWait: (holder: number | undefined) => void): Promise<Release> {
  await fs.mkdir(path.dirname(lockDir), { recursive: true });
  let told = false;
  let ownerlessSince: number | undefined;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(path.join(lockDir, "owner"), `${processToken() ?? process.pid}\n`);
      return async () => {
        await fs.rm(lockDir, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const owner = await ownerOf(lockDir);
    const holder = owner?.pid;
    if (owner !== undefined && ownerIsGone(owner.recorded)) {
      // The holder died without releasing; its half-built output is in its own temp dir, never in place.
      await takeOver(lockDir, owner.recorded);
      continue;
    }
    if (holder === undefined) {
      // Between another process's mkdir and its owner write; only stale if it stays ownerless.
      ownerlessSince ??= Date.now();
      if (Date.now() - ownerlessSince > 10_000) {
        await takeOver(lockDir, undefined);
        ownerlessSince = undefined;
        continue;
      }
    } else {
      ownerlessSince = undefined;
    }
    if (!told) {
      onWait(holder);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Removes a stale lock, but only if it still has the stale owner it was judged by. */
async function takeOver(lockDir: string, staleOwner: string | undefined): Promise<void> {
  const guard = `${lockDir}.takeover`;
  try {
    await fs.mkdir(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // Someone else is taking over; a guard left by a process killed mid-takeover expires.
    const stat = await fs.stat(guard).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > 30_000) await fs.rm(guard, { recursive: true, force: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    return;
  }
  try {
    const exists = await fs.stat(lockDir).then(() => true, () => false);
    if (exists && (await ownerOf(lockDir))?.recorded === staleOwner) await fs.rm(lockDir, { recursive: true, force: true });
  } finally {
    await fs.rm(guard, { recursive: true, force: true });
  }
}
