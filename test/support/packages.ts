/**
 * Test prerequisites that are Debian packages (chromium for the status page's browser test): found on
 * PATH, or installed with apt-get when the tests run as root in a Debian container. Never through a
 * shell: execa with argument arrays.
 */
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/** apt-get update runs at most once per test process, however many packages are ensured. */
let updated: Promise<void> | undefined;

/** Where `binary` is on PATH, or undefined. */
export async function findOnPath(binary: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const file = path.join(dir, binary);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * The path of `binary`, installing the Debian package `pkg` first when it is not on PATH. Installing
 * needs root (a container); otherwise the error says what to install.
 */
export async function ensureDebianPackage(pkg: string, binary: string): Promise<string> {
  const found = await findOnPath(binary);
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) {
    throw new Error(`${binary} not found on PATH and not running as root to install it: run apt-get install ${pkg} (or put ${binary} on PATH)`);
  }
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  updated ??= execa("apt-get", ["update"], { env, timeout: 300_000 }).then(() => undefined);
  await updated;
  await execa("apt-get", ["install", "-y", "--no-install-recommends", "--", pkg], { env, timeout: 900_000 });
  const installed = await findOnPath(binary);
  if (installed === undefined) throw new Error(`apt-get installed ${pkg}, but ${binary} is still not on PATH`);
  return installed;
}
