/**
 * Typed wrapper around the `git` command line, for the sandbox's repositories only (the demo's and the
 * tests' served fleets: init, commit, push). bosun itself reads fleet repositories with isomorphic-git
 * (src/source/) and never runs this against a repository it was given.
 */
import { runProcess } from "./process.js";

/** Runs `git args…` in `cwd` and returns stdout. */
export async function git(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<string> {
  const { stdout } = await runProcess({
    tool: "git",
    file: "git",
    args,
    timeoutMs: options.timeoutMs ?? 60_000,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    notFoundHint: "install git",
  });
  return stdout;
}
