/**
 * Where bosun keeps files outside the fleet repository: the binary cache and the Git cache. One place so
 * tests can redirect everything with BOSUN_CACHE_DIR.
 */
import os from "node:os";
import path from "node:path";

/** Root of bosun's cache: BOSUN_CACHE_DIR, else $XDG_CACHE_HOME/bosun, else ~/.cache/bosun. */
export function cacheRoot(): string {
  const explicit = process.env.BOSUN_CACHE_DIR;
  if (explicit) return path.resolve(explicit);
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg ? path.resolve(xdg) : path.join(os.homedir(), ".cache"), "bosun");
}

/** Directory of cached binaries, `<cache>/bin`. */
export function binCacheDir(): string {
  return path.join(cacheRoot(), "bin");
}
