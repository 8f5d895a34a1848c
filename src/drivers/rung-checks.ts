/**
 * The pre-upgrade checks again, right before a control-plane rung starts (issue 15): the plan showed them
 * when it was made, but a webhook may have lost its endpoints or a client may have called a deprecated
 * API since. Both drivers ask here with what they observed just now; a problem refuses the rung before
 * anything is touched.
 */
import { BosunError } from "../errors.js";
import type { KubeRest } from "../kube/rest.js";
import { observeReadiness } from "../observe/readiness.js";
import type { ObservedClusterAPI, ObservedKubeadm } from "../plan/observed.js";
import { controlPlaneRungBlocks, upgradeBlocks } from "../plan/preflight-checks.js";
import { parseVersion } from "../plan/versions.js";

/**
 * Reads the checks' inputs through `rest` (the workload cluster) and throws a `guard` error naming every
 * problem that blocks the control-plane rung `stepId` to `to`; returns when the rung may start.
 */
export async function checkRungBeforeStart(rest: KubeRest, driver: ObservedKubeadm | ObservedClusterAPI | undefined, stepId: string, to: string, identity: string): Promise<void> {
  const target = parseVersion(to);
  if (!target.ok) return; // the step guards refuse an unparseable target with their own message
  const readiness = await observeReadiness(rest);
  const problems = [...upgradeBlocks(readiness), ...controlPlaneRungBlocks(readiness, driver, target.version)];
  if (problems.length === 0) return;
  throw new BosunError(`${stepId}: refused before touching anything: ${problems.join("; ")}`, { reason: "ApplyFailed", phase: "guard", identity });
}
