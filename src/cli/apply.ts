/**
 * `bosun apply`: compute the plan (or read `--plan plan.json` and refuse it when the fleet or the clusters
 * moved on since), show it, ask for confirmation unless `--yes` (never prompting without a terminal), then
 * run it wave by wave with progress per cluster and step, and a summary. Exit 0 when every cluster
 * converged (or was already in sync), 1 otherwise, 2 for a usage error (a bad flag, a `--plan` file that
 * does not exist). Progress and summary lines are escaped: they quote tools, API servers and the fleet.
 */
import readline from "node:readline/promises";
import { Command } from "commander";
import { InvalidInputError, UsageError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import type { CommandContext } from "./context.js";
import { EXIT_FAILURE } from "./exit.js";
import { checkReadableFile, readFlagFile } from "./files.js";
import { fleetSelection, useColor, withFleetFlags, type FleetFlags, type FleetSelection } from "./fleet-flags.js";
import { print, printError, printRendered } from "./output.js";
import { trustSelection, withTrustFlags, type TrustFlags, type TrustSelection } from "./trust-flags.js";
import { renderInvalid } from "./validate.js";
import { RunStoppedError } from "../apply/guard.js";

/** The largest plan file `--plan` reads: a plan of hundreds of clusters with their diffs is far smaller. */
export const MAX_PLAN_FILE_BYTES = 64 * 1024 * 1024;

interface ApplyFlags extends FleetFlags, TrustFlags {
  plan?: string;
  yes?: boolean;
  ignoreWindows?: boolean;
  skipSoak?: boolean;
}

/** Builds the `apply` command. */
export function applyCommand(context: CommandContext): Command {
  return withTrustFlags(withFleetFlags(new Command("apply").description("bring the clusters to their spec: versions, add-ons and backup schedules, wave by wave"), "apply"), { plugins: true })
    .option("--plan <file>", "apply this plan (from bosun plan --out), refused if the fleet or the clusters changed since")
    .option("--yes", "do not ask for confirmation")
    .option("--ignore-windows", "run clusters outside their maintenance windows (and inside deny windows) too: a break-glass override")
    .option("--skip-soak", "do not wait the waves' soak times between waves")
    .action(async (flags: ApplyFlags) => {
      const selection = await checkFlags(flags);
      if (context.checkOnly) return;
      context.setExitCode(await apply(flags, selection));
    });
}

/** What apply's command line selected: the fleet and the operator's trust settings. */
interface ApplySelection extends FleetSelection {
  trust: TrustSelection;
}

/** Every check of apply's command line; a usage error names the flag. */
async function checkFlags(flags: ApplyFlags): Promise<ApplySelection> {
  const trust = trustSelection(flags, process.env);
  if (flags.plan !== undefined && (flags.repo !== undefined || flags.fleet !== undefined)) throw new UsageError("give one of --fleet, --repo or --plan");
  if (flags.plan !== undefined && flags.cluster.length > 0) throw new UsageError("--cluster cannot be combined with --plan: the plan names its clusters");
  const selection = await fleetSelection(flags);
  if (flags.plan !== undefined) await checkReadableFile("--plan", flags.plan, MAX_PLAN_FILE_BYTES);
  if (!flags.yes && !process.stdin.isTTY) throw new UsageError("refusing to ask for confirmation without a terminal: pass --yes to apply without asking");
  return { ...selection, trust };
}

async function apply(flags: ApplyFlags, selection: ApplySelection): Promise<number> {
  const [{ planFleet }, { readPlan }, { renderText }, run] = await Promise.all([
    import("../observe/plan-fleet.js"),
    import("../report/json.js"),
    import("../report/text.js"),
    import("../apply/run.js"),
  ]);
  const saved = flags.plan === undefined ? undefined : readPlan(await readFlagFile("--plan", flags.plan), flags.plan);
  const source = saved ? sourceOf(saved) : selection.source;
  const clusters = saved ? saved.clusters.map((c) => c.name) : selection.clusters;
  const progress = (line: string): void => {
    printError(`${line}\n`);
  };
  const result = await planFleet({
    source,
    clusters,
    // A cluster of a saved plan that left the fleet makes the plan stale (refused below), not a usage error.
    ...(saved ? { unknownClusters: "skip" as const } : {}),
    policy: selection.trust.policy,
    allowExecPlugins: selection.trust.allowExecPlugins,
    env: process.env,
    clusterTimeoutMs: selection.clusterTimeoutMs,
    now: new Date(),
    progress,
  });
  if (!result.ok) {
    print(renderInvalid(result.dir, result.errors, result.warnings));
    return EXIT_FAILURE;
  }
  if (saved) {
    const problems = run.stalePlanProblems(saved, result.plan);
    if (problems.length > 0) throw new InvalidInputError(`refusing ${flags.plan ?? "the plan"}: ${problems.join("; ")}. Run bosun plan again.`);
  }
  const plan = result.plan;
  const color = useColor(flags);
  // The text renderer escapes the plan's content itself; its colour codes are bosun's own.
  printRendered(renderText(plan, { color }));
  const work = plan.clusters.filter((c) => c.status === "changes" || c.status === "blocked");
  if (work.length === 0) {
    print("nothing to apply\n");
    return plan.summary.clusters.unreachable + plan.summary.clusters.invalid > 0 ? EXIT_FAILURE : 0;
  }
  if (!flags.yes && !(await confirm(`apply the steps above to ${work.length} cluster${work.length === 1 ? "" : "s"}? type "yes" to go on: `))) {
    print("nothing applied\n");
    return EXIT_FAILURE;
  }
  if (flags.ignoreWindows) print("warning: --ignore-windows: maintenance windows (allow and deny) are not enforced in this run\n");
  if (flags.skipSoak) print("warning: --skip-soak: waves start without waiting their soak time\n");
  const started = Date.now();
  // SIGTERM (a CI job cancelled, a pod stopped) stops every cluster's run at its next request; a second
  // SIGTERM kills the process as usual.
  const stop = new AbortController();
  const onTerm = (): void => {
    if (stop.signal.aborted) process.exit(143);
    stop.abort(new RunStoppedError("SIGTERM"));
  };
  // `on`, not `once`: a one-shot listener is gone by the time execa's exit handler counts the listeners, and
  // that handler then re-raises the signal, killing the process mid-step.
  process.on("SIGTERM", onTerm);
  const outcomes = await run.applyFleet({
    signal: stop.signal,
    plan,
    fleet: result.fleet,
    fleetDir: result.dir,
    repoPolicy: selection.trust.policy,
    env: process.env,
    kubeconfigs: result.kubeconfigs,
    now: () => new Date(),
    sleep: async (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
    log: (line) => { print(`  ${line}\n`); },
    ...(flags.ignoreWindows ? { ignoreWindows: true } : {}),
    ...(flags.skipSoak ? { skipSoak: true } : {}),
    onEvent: (event) => {
      if (event.kind === "wave-start") print(`wave ${event.wave}: ${event.clusters.join(", ")}\n`);
      if (event.kind === "soak") print(`wave ${event.wave} done; soaking ${event.seconds} s before the next wave\n`);
      if (event.kind === "halt") print(`wave ${event.wave} failed: ${event.cause}; later waves do not start\n`);
      if (event.kind === "cluster-end" && event.outcome.kind === "failed") {
        print(`  ${event.cluster}: failed at ${event.outcome.step}${event.outcome.phase ? ` (${event.outcome.phase})` : ""}: ${event.outcome.reason}\n`);
      }
      if (event.kind === "cluster-end" && event.outcome.kind === "unreachable") print(`  ${event.cluster}: unreachable: ${event.outcome.reason}\n`);
    },
  });
  process.removeListener("SIGTERM", onTerm);
  print(`\nsummary (${((Date.now() - started) / 1000).toFixed(1)} s):\n`);
  const width = Math.max(...plan.clusters.map((c) => c.name.length));
  let ok = true;
  for (const cluster of plan.clusters) {
    const outcome = outcomes.get(cluster.name);
    // One line per cluster: a tool's error (helm's can run to 20 lines) is shown whole in the progress above.
    const firstLine = (reason: string): string => {
      const [line = "", ...rest] = reason.split("\n");
      return rest.length > 0 ? `${line} …` : line;
    };
    const text = outcome === undefined ? "not run" : outcome.kind === "converged" ? `converged (${outcome.steps} steps)` : outcome.kind === "in-sync" ? "in sync" : outcome.kind === "failed" ? `failed at ${outcome.step}${outcome.phase ? ` (${outcome.phase})` : ""}: ${firstLine(outcome.reason)}` : `${outcome.kind}: ${firstLine(outcome.reason)}`;
    if (outcome?.kind !== "converged" && outcome?.kind !== "in-sync") ok = false;
    print(`  ${cluster.name.padEnd(width)}  ${text}\n`);
    if ((outcome?.kind === "converged" || outcome?.kind === "failed") && outcome.versions) {
      print(`  ${"".padEnd(width)}  versions ${outcome.versions}\n`);
    }
  }
  return ok ? 0 : EXIT_FAILURE;
}

/** Where a saved plan's fleet came from, to compute the fresh plan it is checked against. */
function sourceOf(plan: Plan): { fleet: string } | { repo: string; ref: string } {
  return plan.source.kind === "git" ? { repo: plan.source.url, ref: plan.source.commit } : { fleet: plan.source.path };
}

async function confirm(question: string): Promise<boolean> {
  const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await prompt.question(question)).trim().toLowerCase() === "yes";
  } finally {
    prompt.close();
  }
}
