/**
 * A cross-process lock on a directory, so two bosun processes building the same binaries (or starting the
 * same sandbox) at once neither corrupt anything nor do the work twice. `mkdir` is atomic; the owner's pid
 * is written inside so a lock left by a killed process is recognised and taken over. Taking over is itself
 * serialised by a second lock (`<lock>.takeover`), and the taker re-reads the owner under it, so two
 * waiters that both saw the same dead owner can never both end up holding the lock.
 */
import fs from "node:fs/promises";
import path from "node:path";

/** Releases a held lock. */
export type Release = () => Promise<void>;

/** True when a process with this pid exists (it may belong to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function ownerOf(lockDir: string): Promise<number | undefined> {
  try {
    const text = await fs.readFile(path.join(lockDir, "owner"), "utf8");
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
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
      await fs.writeFile(path.join(lockDir, "owner"), `${process.pid}\n`);
      return async () => {
        await fs.rm(lockDir, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await ownerOf(lockDir);
    if (holder !== undefined && !processAlive(holder)) {
      // The holder died without releasing; its half-built output is in its own temp dir, never in place.
      await takeOver(lockDir, holder);
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
async function takeOver(lockDir: string, staleOwner: number | undefined): Promise<void> {
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
    if (exists && (await ownerOf(lockDir)) === staleOwner) await fs.rm(lockDir, { recursive: true, force: true });
  } finally {
    await fs.rm(guard, { recursive: true, force: true });
  }
}
