/**
 * `bosun apply`: compute the plan (or read `--plan plan.json` and refuse it when the fleet or the clusters
 * moved on since), show it, ask for confirmation unless `--yes` (never prompting without a terminal), then
 * run it wave by wave with progress per cluster and step, and a summary. Exit 0 when every cluster
 * converged (or was already in sync), 1 otherwise.
 */
import fs from "node:fs/promises";
import readline from "node:readline/promises";
import { Command } from "commander";
import { InvalidInputError, UsageError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { EXIT_FAILURE } from "./exit.js";
import { fleetSelection, useColor, withFleetFlags, type FleetFlags } from "./fleet-flags.js";
import { renderInvalid } from "./validate.js";
import { RunStoppedError } from "../apply/guard.js";

interface ApplyFlags extends FleetFlags {
  plan?: string;
  yes?: boolean;
  ignoreWindows?: boolean;
  skipSoak?: boolean;
}

/** Builds the `apply` command. */
export function applyCommand(setExitCode: (code: number) => void): Command {
  return withFleetFlags(new Command("apply").description("bring the clusters to their spec: versions, add-ons and backup schedules, wave by wave"), "apply")
    .option("--plan <file>", "apply this plan (from bosun plan --out), refused if the fleet or the clusters changed since")
    .option("--yes", "do not ask for confirmation")
    .option("--ignore-windows", "run clusters outside their maintenance windows (and inside deny windows) too: a break-glass override")
    .option("--skip-soak", "do not wait the waves' soak times between waves")
    .action(async (flags: ApplyFlags) => {
      setExitCode(await apply(flags));
    });
}

async function apply(flags: ApplyFlags): Promise<number> {
  const selection = fleetSelection(flags);
  if (flags.plan !== undefined && (flags.repo !== undefined || flags.fleet !== undefined)) throw new UsageError("give one of --fleet, --repo or --plan");
  if (!flags.yes && !process.stdin.isTTY) throw new UsageError("refusing to ask for confirmation without a terminal: pass --yes to apply without asking");
  const [{ planFleet }, { readPlan }, { renderText }, run] = await Promise.all([
    import("../observe/run.js"),
    import("../report/json.js"),
    import("../report/text.js"),
    import("../apply/run.js"),
  ]);
  const saved = flags.plan === undefined ? undefined : readPlan(await fs.readFile(flags.plan, "utf8"), flags.plan);
  const source = saved ? sourceOf(saved) : selection.source;
  const clusters = saved ? saved.clusters.map((c) => c.name) : selection.clusters;
  const progress = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const result = await planFleet({ source, clusters, env: process.env, clusterTimeoutMs: selection.clusterTimeoutMs, now: new Date(), progress });
  if (!result.ok) {
    process.stdout.write(renderInvalid(result.dir, result.errors, result.warnings));
    return EXIT_FAILURE;
  }
  if (saved) {
    const problems = run.stalePlanProblems(saved, result.plan);
    if (problems.length > 0) throw new InvalidInputError(`refusing ${flags.plan ?? "the plan"}: ${problems.join("; ")}. Run bosun plan again.`);
  }
  const plan = result.plan;
  const color = useColor(flags);
  process.stdout.write(renderText(plan, { color }));
  const work = plan.clusters.filter((c) => c.status === "changes" || c.status === "blocked");
  if (work.length === 0) {
    process.stdout.write("nothing to apply\n");
    return plan.summary.clusters.unreachable + plan.summary.clusters.invalid > 0 ? EXIT_FAILURE : 0;
  }
  if (!flags.yes && !(await confirm(`apply the steps above to ${work.length} cluster${work.length === 1 ? "" : "s"}? type "yes" to go on: `))) {
    process.stdout.write("nothing applied\n");
    return EXIT_FAILURE;
  }
  if (flags.ignoreWindows) process.stdout.write("warning: --ignore-windows: maintenance windows (allow and deny) are not enforced in this run\n");
  if (flags.skipSoak) process.stdout.write("warning: --skip-soak: waves start without waiting their soak time\n");
  const started = Date.now();
  // SIGTERM (a CI job cancelled, a pod stopped) stops every cluster's run at its next request; a second
  // SIGTERM kills the process as usual.
  const stop = new AbortController();
  const onTerm = (): void => {
    stop.abort(new RunStoppedError("SIGTERM"));
  };
  process.once("SIGTERM", onTerm);
  const outcomes = await run.applyFleet({
    signal: stop.signal,
    plan,
    fleet: result.fleet,
    fleetDir: result.dir,
    env: process.env,
    now: () => new Date(),
    sleep: async (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
    log: (line) => process.stdout.write(`  ${line}\n`),
    ...(flags.ignoreWindows ? { ignoreWindows: true } : {}),
    ...(flags.skipSoak ? { skipSoak: true } : {}),
    onEvent: (event) => {
      if (event.kind === "wave-start") process.stdout.write(`wave ${event.wave}: ${event.clusters.join(", ")}\n`);
      if (event.kind === "soak") process.stdout.write(`wave ${event.wave} done; soaking ${event.seconds} s before the next wave\n`);
      if (event.kind === "halt") process.stdout.write(`wave ${event.wave} failed: ${event.cause}; later waves do not start\n`);
      if (event.kind === "cluster-end" && event.outcome.kind === "failed") {
        process.stdout.write(`  ${event.cluster}: failed at ${event.outcome.step}${event.outcome.phase ? ` (${event.outcome.phase})` : ""}: ${event.outcome.reason}\n`);
      }
      if (event.kind === "cluster-end" && event.outcome.kind === "unreachable") process.stdout.write(`  ${event.cluster}: unreachable: ${event.outcome.reason}\n`);
    },
  });
  process.removeListener("SIGTERM", onTerm);
  process.stdout.write(`\nsummary (${((Date.now() - started) / 1000).toFixed(1)} s):\n`);
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
    process.stdout.write(`  ${cluster.name.padEnd(width)}  ${text}\n`);
    if ((outcome?.kind === "converged" || outcome?.kind === "failed") && outcome.versions) {
      process.stdout.write(`  ${"".padEnd(width)}  versions ${outcome.versions}\n`);
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
