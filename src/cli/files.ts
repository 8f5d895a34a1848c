/**
 * Files named by a flag (`plan --out`, `apply --plan`): checked before any work starts, so a typo in a
 * path is a usage error (exit 2) in a second rather than a failure after every cluster was observed; read
 * and written with errors that name the flag and the file and say what went wrong in words, never an
 * operating-system error escaping as an internal one.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, UsageError } from "../errors.js";

/** Words for the errors a file operation can end with; anything else is shown by its code. */
const PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EFBIG: "file too large",
  EIO: "input/output error",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EMFILE: "too many open files",
  ENXIO: "no such device or address",
  EINVAL: "invalid argument",
};

/** What went wrong with a file operation, in words (`no space left on device`). */
export function fileProblem(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string") return "unexpected error";
  return PROBLEMS[code] ?? code;
}

/** A directory given on the command line (`flag` names it) must exist and be a directory: a usage error otherwise. */
export async function checkDirectoryFlag(flag: string, dir: string): Promise<void> {
  const stat = await fs.stat(dir).catch((error: unknown) => error as NodeJS.ErrnoException);
  if (stat instanceof Error) throw new UsageError(`${flag} ${JSON.stringify(dir)}: ${stat.code === "ENOENT" ? "no such directory" : fileProblem(stat)}`);
  if (!stat.isDirectory()) throw new UsageError(`${flag} ${JSON.stringify(dir)}: not a directory`);
}

/**
 * Checks that `file` (the value of `flag`) can be written: its directory exists and is a directory, and
 * the file itself is not a directory. A usage error otherwise. What only writing can tell (a full disk)
 * is reported by {@link writeFlagFile}.
 */
export async function checkWritableFile(flag: string, file: string): Promise<void> {
  const shown = `${flag} ${JSON.stringify(file)}`;
  if (file === "") throw new UsageError(`${flag}: empty; give a file name`);
  const dir = path.dirname(path.resolve(file));
  const dirStat = await fs.stat(dir).catch((error: unknown) => error as NodeJS.ErrnoException);
  if (dirStat instanceof Error) throw new UsageError(`${shown}: its directory ${JSON.stringify(dir)} cannot be used: ${fileProblem(dirStat)}`);
  if (!dirStat.isDirectory()) throw new UsageError(`${shown}: ${JSON.stringify(dir)} is not a directory`);
  const fileStat = await fs.stat(file).catch(() => undefined);
  if (fileStat?.isDirectory()) throw new UsageError(`${shown}: is a directory; give a file name`);
}

/** Writes `text` to `file`; a failure is an `InvalidInputError` naming the flag and the file (exit 1). */
export async function writeFlagFile(flag: string, file: string, text: string): Promise<void> {
  try {
    await fs.writeFile(file, text);
  } catch (error) {
    throw new InvalidInputError(`${flag} ${JSON.stringify(file)}: cannot write: ${fileProblem(error)}`, { cause: error });
  }
}

/**
 * Checks that `file` (the value of `flag`) is a regular file of at most `maxBytes`: a missing path or a
 * directory is a usage error, a file that is too large is invalid input.
 */
export async function checkReadableFile(flag: string, file: string, maxBytes: number): Promise<void> {
  const shown = `${flag} ${JSON.stringify(file)}`;
  if (file === "") throw new UsageError(`${flag}: empty; give a file name`);
  const stat = await fs.stat(file).catch((error: unknown) => error as NodeJS.ErrnoException);
  if (stat instanceof Error) throw new UsageError(`${shown}: ${fileProblem(stat)}`);
  if (stat.isDirectory()) throw new UsageError(`${shown}: is a directory; give a file`);
  if (!stat.isFile()) throw new UsageError(`${shown}: not a regular file`);
  if (stat.size > maxBytes) throw new InvalidInputError(`${shown}: larger than ${maxBytes} bytes; not read`);
}

/** Reads `file` as UTF-8; a failure is an `InvalidInputError` naming the flag and the file (exit 1). */
export async function readFlagFile(flag: string, file: string): Promise<string> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(`${flag} ${JSON.stringify(file)}: cannot read: ${fileProblem(error)}`, { cause: error });
  }
}
