/**
 * Typed wrapper around `kubectl`, for reading what a user would see (tests compare bosun's view with it).
 */
import { runProcess } from "./process.js";

/** Runs `kubectl --kubeconfig F --context C args…` and returns stdout. */
export async function kubectl(
  target: { kubeconfig: string; context: string },
  args: readonly string[],
  options: { kubectl?: string; timeoutMs?: number } = {},
): Promise<string> {
  const { stdout } = await runProcess({
    tool: "kubectl",
    file: options.kubectl ?? process.env.BOSUN_KUBECTL ?? "kubectl",
    args: ["--kubeconfig", target.kubeconfig, "--context", target.context, ...args],
    timeoutMs: options.timeoutMs ?? 60_000,
    notFoundHint: "install it or set BOSUN_KUBECTL",
  });
  return stdout;
}
