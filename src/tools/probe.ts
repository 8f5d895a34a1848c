/**
 * Asks an already-installed program for its version, so bosun can tell whether a binary found on PATH is
 * one it can use. Any failure means "unknown" rather than an error: the caller then ignores that binary.
 */
import { runProcess } from "./process.js";

/** Runs `file args…` and returns what it printed, or undefined when it could not be run. */
export async function probeVersionOutput(tool: string, file: string, args: readonly string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await runProcess({
      tool,
      file,
      args,
      timeoutMs: 15_000,
      maxBuffer: 1024 * 1024,
      notFoundHint: "not installed",
    });
    return `${stdout}\n${stderr}`;
  } catch {
    return undefined;
  }
}
