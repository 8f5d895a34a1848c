/**
 * Reading a file bosun did not write (a fleet file, a kubeconfig a spec names) without being hung or
 * flooded by it: only a regular file is read — a named pipe would block forever, a device never end — and
 * never more than its limit, whatever the file claims its size is. Pair it with `parseBoundedYaml`.
 */
import fsSync, { constants as fsConstants } from "node:fs";
import fs from "node:fs/promises";

/** What reading gives: the text, or why it was refused (never the file's content). */
export type BoundedRead = { ok: true; text: string } | { ok: false; problem: "missing" | "not-regular" | "too-large" | "unreadable" };

/**
 * Reads `file` as UTF-8 when it is a regular file of at most `maxBytes`. Opened without blocking (so a
 * named pipe cannot hang the open) and, with `noFollow`, without following a final symlink (for a path
 * that was already resolved and checked). Never throws.
 */
export async function readRegularFile(file: string, maxBytes: number, options: { noFollow?: boolean } = {}): Promise<BoundedRead> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | (options.noFollow === true ? fsConstants.O_NOFOLLOW : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problem: code === "ENOENT" || code === "ENOTDIR" ? "missing" : code === "ELOOP" ? "not-regular" : "unreadable" };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, problem: "not-regular" };
    if (stat.size > maxBytes) return { ok: false, problem: "too-large" };
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return { ok: false, problem: "too-large" };
    return { ok: true, text: buffer.subarray(0, length).toString("utf8") };
  } catch {
    return { ok: false, problem: "unreadable" };
  } finally {
    await handle.close();
  }
}

/**
 * {@link readRegularFile} for callers that cannot wait (loading a kubeconfig while a cluster's connection
 * is built): the same checks, the same limit, never throws.
 */
export function readRegularFileSync(file: string, maxBytes: number, options: { noFollow?: boolean } = {}): BoundedRead {
  let fd: number;
  try {
    fd = fsSync.openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | (options.noFollow === true ? fsConstants.O_NOFOLLOW : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, problem: code === "ENOENT" || code === "ENOTDIR" ? "missing" : code === "ELOOP" ? "not-regular" : "unreadable" };
  }
  try {
    const stat = fsSync.fstatSync(fd);
    if (!stat.isFile()) return { ok: false, problem: "not-regular" };
    if (stat.size > maxBytes) return { ok: false, problem: "too-large" };
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read) read = fsSync.readSync(fd, buffer, length, buffer.length - length, length);
    if (length > maxBytes) return { ok: false, problem: "too-large" };
    return { ok: true, text: buffer.subarray(0, length).toString("utf8") };
  } catch {
    return { ok: false, problem: "unreadable" };
  } finally {
    fsSync.closeSync(fd);
  }
}
