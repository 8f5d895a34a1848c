/**
 * Finds a binary without building it: BOSUN_BIN_DIR first, then PATH (only a version bosun works with),
 * then the cache `~/.cache/bosun/bin/<name>-v<version>`.
 */
import path from "node:path";
import { binCacheDir } from "../../paths.js";
import { probeVersionOutput } from "../../tools/probe.js";
import { isExecutable } from "../../tools/executable.js";
import { CATALOG, type BinaryName } from "./catalog.js";

/** Where a located binary came from. */
export type BinarySource = "BOSUN_BIN_DIR" | "PATH" | "cache" | "built";

/** A binary bosun can run. */
export interface LocatedBinary {
  name: BinaryName;
  path: string;
  source: BinarySource;
}

/** Path of a binary in the cache (whether or not it exists yet). */
export function cachedPath(name: BinaryName): string {
  return path.join(binCacheDir(), `${name}-v${CATALOG[name].version}`);
}

/** Looks a binary up in BOSUN_BIN_DIR, PATH and the cache; undefined when it must be built. */
export async function locateBinary(name: BinaryName, onIgnored?: (message: string) => void): Promise<LocatedBinary | undefined> {
  const binDir = process.env.BOSUN_BIN_DIR;
  if (binDir) {
    const candidate = path.join(path.resolve(binDir), name);
    // An explicit directory is trusted: the user chose these binaries.
    if (await isExecutable(candidate)) return { name, path: candidate, source: "BOSUN_BIN_DIR" };
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (!(await isExecutable(candidate))) continue;
    const entry = CATALOG[name];
    const output = await probeVersionOutput(name, candidate, entry.probe.args);
    if (output !== undefined && entry.probe.accepts(output)) return { name, path: candidate, source: "PATH" };
    onIgnored?.(`ignoring ${candidate}: not a version bosun supports (${firstLine(output)})`);
  }
  const cached = cachedPath(name);
  if (await isExecutable(cached)) return { name, path: cached, source: "cache" };
  return undefined;
}

function firstLine(text: string | undefined): string {
  return (text ?? "no version output").trim().split("\n")[0] ?? "";
}
