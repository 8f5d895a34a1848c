/**
 * bosun's chart archive cache: `<cache>/charts/sha256-<hex>.tgz`, each file named by the SHA-256 of its
 * content. A file is written under a temporary name and renamed into place, so a reader never sees half of
 * one, and it is trusted only as far as its content still matches its name (a crash or a full disk can
 * leave one truncated).
 */
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

/** SHA-256 of `body`, lower-case hex. */
export function sha256Hex(body: Buffer): string {
  return createHash("sha256").update(body).digest("hex");
}

/** Where the archive of this digest lives in `cacheDir`. */
export function cachedChartFile(cacheDir: string, digest: string): string {
  return path.join(cacheDir, `sha256-${digest}.tgz`);
}

/** The cached archive of `digest`, when one is there and its content still has that digest. */
export async function findCachedChart(cacheDir: string, digest: string): Promise<string | undefined> {
  const file = cachedChartFile(cacheDir, digest);
  try {
    return sha256Hex(await fs.readFile(file)) === digest ? file : undefined;
  } catch {
    return undefined;
  }
}

/** Stores `body` in `cacheDir` under its digest (readable by this user only); returns the file and the digest. */
export async function storeChart(cacheDir: string, body: Buffer): Promise<{ file: string; digest: string }> {
  const digest = sha256Hex(body);
  await fs.mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const file = cachedChartFile(cacheDir, digest);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await fs.writeFile(tmp, body, { mode: 0o600, flush: true });
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return { file, digest };
}
