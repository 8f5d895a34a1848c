/**
 * `bosun plan`: read the fleet (a directory, or a Git repository at a ref), observe the live clusters,
 * compute the plan and print it as text, markdown (a pull-request comment) or JSON.
 *
 * Exit codes (src/cli/exit.ts): 0 when the plan was computed; 1 when the spec is invalid or any cluster
 * is unreachable or invalid — the plan is still printed, so a pull request shows what could be planned;
 * 2 for a usage error. With `--detailed-exitcode` (terraform's contract) 0 only when every cluster is in
 * sync, 2 only when the plan has changes (blocked steps count as changes), and 1 for every error,
 * usage errors included.
 */
import { Command, Option } from "commander";
import type { PlanRunResult } from "../observe/plan-fleet.js";
import type { CommandContext } from "./context.js";
import { EXIT_FAILURE, planExitCode, type ExitContract } from "./exit.js";
import { checkWritableFile, writeFlagFile } from "./files.js";
import { fleetSelection, useColor, withFleetFlags, type FleetFlags } from "./fleet-flags.js";
import { print, printError, printJson, printRendered } from "./output.js";
import { trustSelection, withTrustFlags, type TrustFlags } from "./trust-flags.js";
import { renderInvalid } from "./validate.js";

interface PlanFlags extends FleetFlags, TrustFlags {
  output: "text" | "markdown" | "json";
  out?: string;
  detailedExitcode?: boolean;
}

/** Builds the `plan` command. */
export function planCommand(context: CommandContext): Command {
  return withTrustFlags(withFleetFlags(new Command("plan").description("observe the live clusters and show what it takes to bring each to its spec"), "plan"), { plugins: true })
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "markdown", "json"]).default("text"))
    .option("--out <file>", "also write the plan as JSON to this file (input of `bosun apply --plan`)")
    .option("--detailed-exitcode", "exit 0 when in sync, 2 when there are changes, 1 on every error (usage errors too)")
    .action(async (flags: PlanFlags) => {
      const contract: ExitContract = flags.detailedExitcode ? "detailed" : "default";
      context.setExitContract(contract);
      const selection = await fleetSelection(flags);
      const { policy, allowExecPlugins } = trustSelection(flags, process.env);
      if (flags.out !== undefined) await checkWritableFile("--out", flags.out);
      if (context.checkOnly) return;
      // Loaded here, not at start-up: the Kubernetes client and Git take most of a second to import, and
      // every other command would pay for it.
      const { planFleet } = await import("../observe/plan-fleet.js");
      const progress = process.stderr.isTTY ? (line: string) => { printError(`${line}\n`); } : undefined;
      const result = await planFleet({
        ...selection,
        policy,
        allowExecPlugins,
        env: process.env,
        now: new Date(),
        ...(progress ? { progress } : {}),
      });
      context.setExitCode(await report(result, flags, contract));
    });
}

async function report(result: PlanRunResult, flags: PlanFlags, contract: ExitContract): Promise<number> {
  if (!result.ok) {
    if (flags.output === "json") printJson({ valid: false, errors: result.errors, warnings: result.warnings });
    else print(renderInvalid(result.dir, result.errors, result.warnings));
    return EXIT_FAILURE;
  }
  const plan = result.plan;
  const [{ renderJson }, { renderMarkdown }, { renderText }] = await Promise.all([
    import("../report/json.js"),
    import("../report/markdown.js"),
    import("../report/text.js"),
  ]);
  if (flags.out !== undefined) await writeFlagFile("--out", flags.out, renderJson(plan));
  const color = flags.output === "text" && useColor(flags);
  if (flags.output === "json") print(renderJson(plan));
  else if (flags.output === "markdown") print(renderMarkdown(plan));
  // The text renderer escapes the plan's content itself; its colour codes are bosun's own.
  else printRendered(renderText(plan, { color }));
  return planExitCode(plan.summary, contract);
}
