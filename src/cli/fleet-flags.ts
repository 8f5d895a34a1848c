/**
 * The flags `plan` and `apply` share — where the fleet comes from, which clusters, how long observing one
 * may take, colour — and their checks, so both commands accept and refuse exactly the same things.
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { parseRef, parseRepoLocation } from "../source/validate.js";
import { parseDuration } from "../spec/duration.js";
import { checkDirectoryFlag } from "./files.js";
import { asUsage } from "./usage.js";

/** The shared flags as commander parses them. */
export interface FleetFlags {
  fleet?: string;
  repo?: string;
  ref?: string;
  cluster: string[];
  timeout: string;
  color?: boolean;
}

/** Adds the shared flags to `command`; `verb` words the `--cluster` help ("plan only this cluster"). */
export function withFleetFlags(command: Command, verb: string): Command {
  return command
    .option("--fleet <dir>", "fleet directory (default: the current directory)")
    .option("--repo <url>", "fleet Git repository (http(s) URL or local path); credentials from BOSUN_GIT_TOKEN")
    .option("--ref <ref>", "branch, tag or commit of --repo")
    .option("--cluster <name>", `${verb} only this cluster (repeatable)`, (value: string, all: string[]) => [...all, value], [])
    .option("--timeout <duration>", "how long observing one cluster may take", "60s")
    .option("--no-color", "no colours in text output (also NO_COLOR)");
}

/** The checked meaning of the shared flags. */
export interface FleetSelection {
  source: { fleet: string } | { repo: string; ref: string };
  clusters: string[];
  clusterTimeoutMs: number;
}

/** The longest `--timeout`: a day is far beyond any observation, and Node timers stop at 24.8 days. */
export const MAX_CLUSTER_TIMEOUT_SECONDS = 24 * 3600;

/**
 * Checks the shared flags; a usage error names the flag. `--fleet` and a local `--repo` must exist, and
 * `--repo`/`--ref` must be values the Git source accepts — checked here, before anything is read or
 * fetched, so that every bad command line exits 2 (usage) while problems found in the fleet itself or on
 * the Git server exit 1.
 */
export async function fleetSelection(flags: FleetFlags): Promise<FleetSelection> {
  const timeout = parseDuration(flags.timeout);
  if ("problem" in timeout) throw new UsageError(`--timeout: ${timeout.problem}`);
  if (timeout.seconds === 0) throw new UsageError("--timeout: must be longer than 0s");
  if (timeout.seconds > MAX_CLUSTER_TIMEOUT_SECONDS) throw new UsageError(`--timeout: ${flags.timeout} is longer than the most, 24h`);
  if (flags.repo !== undefined && flags.fleet !== undefined) throw new UsageError("give either --fleet or --repo, not both");
  if ((flags.repo === undefined) !== (flags.ref === undefined)) throw new UsageError("--repo and --ref go together");
  if (flags.repo !== undefined && flags.ref !== undefined) await checkRepoFlags(flags.repo, flags.ref);
  else await checkDirectoryFlag("--fleet", flags.fleet ?? ".");
  for (const name of flags.cluster) {
    if (name === "") throw new UsageError("--cluster: empty; give a cluster name of the fleet");
  }
  return {
    source: flags.repo !== undefined && flags.ref !== undefined ? { repo: flags.repo, ref: flags.ref } : { fleet: flags.fleet ?? "." },
    clusters: flags.cluster,
    clusterTimeoutMs: timeout.seconds * 1000,
  };
}

/**
 * `--repo` and `--ref` through the Git source's own checks, their refusals turned into usage errors (the
 * source names the flag in its message and keeps secrets out of it), and a local `--repo` must be a Git
 * repository on this machine.
 */
async function checkRepoFlags(repo: string, ref: string): Promise<void> {
  const location = asUsage(() => parseRepoLocation(repo));
  asUsage(() => parseRef(ref));
  if (location.kind === "path") {
    await checkDirectoryFlag("--repo", repo);
    // Loaded only here: isomorphic-git takes a while to import, and most command lines never need it.
    const { repositoryAt } = await import("../source/repository.js");
    if ((await repositoryAt(location.path).catch(() => undefined)) === undefined) {
      throw new UsageError(`--repo ${JSON.stringify(repo)}: not a Git repository (give the top directory of a work tree, or a bare repository)`);
    }
  }
}

/** Whether text output to stdout is coloured: a terminal, no `--no-color`, no NO_COLOR. */
export function useColor(flags: Pick<FleetFlags, "color">): boolean {
  return flags.color !== false && process.stdout.isTTY && !process.env.NO_COLOR;
}
