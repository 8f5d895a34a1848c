/**
 * `bosun plan`: read the fleet (a directory, or a Git repository at a ref), observe the live clusters,
 * compute the plan and print it as text, markdown (a pull-request comment) or JSON.
 *
 * Exit codes (DESIGN section 8): 0 when the plan was computed; with `--detailed-exitcode` 0 only when
 * every cluster is in sync and 2 when there are changes (blocked steps count as changes). 1 when the spec
 * is invalid or any cluster is unreachable or invalid — the plan is still printed, so a pull request shows
 * what could be planned. 2 for a usage error.
 */
import fs from "node:fs/promises";
import { Command, Option } from "commander";
import type { PlanRunResult } from "../observe/plan-fleet.js";
import { EXIT_FAILURE } from "./exit.js";
import { fleetSelection, useColor, withFleetFlags, type FleetFlags } from "./fleet-flags.js";
import { renderInvalid } from "./validate.js";

/** Exit code of `--detailed-exitcode` when the plan has changes. */
export const EXIT_CHANGES = 2;

interface PlanFlags extends FleetFlags {
  output: "text" | "markdown" | "json";
  out?: string;
  detailedExitcode?: boolean;
}

/** Builds the `plan` command. */
export function planCommand(setExitCode: (code: number) => void): Command {
  return withFleetFlags(new Command("plan").description("observe the live clusters and show what it takes to bring each to its spec"), "plan")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "markdown", "json"]).default("text"))
    .option("--out <file>", "also write the plan as JSON to this file (input of `bosun apply --plan`)")
    .option("--detailed-exitcode", "exit 0 when in sync, 2 when there are changes, 1 on errors")
    .action(async (flags: PlanFlags) => {
      const selection = fleetSelection(flags);
      // Loaded here, not at start-up: the Kubernetes client and Git take most of a second to import, and
      // every other command would pay for it.
      const { planFleet } = await import("../observe/plan-fleet.js");
      const progress = process.stderr.isTTY ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
      const result = await planFleet({
        ...selection,
        env: process.env,
        now: new Date(),
        ...(progress ? { progress } : {}),
      });
      setExitCode(await report(result, flags));
    });
}

async function report(result: PlanRunResult, flags: PlanFlags): Promise<number> {
  if (!result.ok) {
    process.stdout.write(
      flags.output === "json"
        ? `${JSON.stringify({ valid: false, errors: result.errors, warnings: result.warnings }, null, 2)}\n`
        : renderInvalid(result.dir, result.errors, result.warnings),
    );
    return EXIT_FAILURE;
  }
  const plan = result.plan;
  const [{ renderJson }, { renderMarkdown }, { renderText }] = await Promise.all([
    import("../report/json.js"),
    import("../report/markdown.js"),
    import("../report/text.js"),
  ]);
  if (flags.out !== undefined) await fs.writeFile(flags.out, renderJson(plan));
  const color = flags.output === "text" && useColor(flags);
  const text =
    flags.output === "json" ? renderJson(plan) : flags.output === "markdown" ? renderMarkdown(plan) : renderText(plan, { color });
  process.stdout.write(text);
  const { clusters } = plan.summary;
  if (clusters.unreachable > 0 || clusters.invalid > 0) return EXIT_FAILURE;
  if (flags.detailedExitcode && (clusters.changes > 0 || clusters.blocked > 0)) return EXIT_CHANGES;
  return 0;
}
