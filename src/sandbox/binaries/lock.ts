/**
 * A cross-process lock on a directory in the binary cache, so two bosun processes building the same binaries
 * at once neither corrupt the cache nor build twice. `mkdir` is atomic; the owner's pid is written inside so
 * a lock left by a killed process is recognised and taken over.
 */
import fs from "node:fs/promises";
import path from "node:path";

/** Releases a held lock. */
export type Release = () => Promise<void>;

function alive(pid: number): boolean {
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
    if (holder !== undefined && !alive(holder)) {
      // The holder died without releasing; its half-built output is in its own temp dir, never in place.
      await fs.rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (holder === undefined) {
      // Between another process's mkdir and its owner write; only stale if it stays ownerless.
      ownerlessSince ??= Date.now();
      if (Date.now() - ownerlessSince > 10_000) {
        await fs.rm(lockDir, { recursive: true, force: true });
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
