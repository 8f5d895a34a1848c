/**
 * The flags `plan` and `apply` share — where the fleet comes from, which clusters, how long observing one
 * may take, colour — and their checks, so both commands accept and refuse exactly the same things.
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { parseDuration } from "../spec/duration.js";

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

/** Checks the shared flags; a usage error names the flag. */
export function fleetSelection(flags: FleetFlags): FleetSelection {
  const timeout = parseDuration(flags.timeout);
  if ("problem" in timeout) throw new UsageError(`--timeout: ${timeout.problem}`);
  if (flags.repo !== undefined && flags.fleet !== undefined) throw new UsageError("give either --fleet or --repo, not both");
  if ((flags.repo === undefined) !== (flags.ref === undefined)) throw new UsageError("--repo and --ref go together");
  return {
    source: flags.repo !== undefined && flags.ref !== undefined ? { repo: flags.repo, ref: flags.ref } : { fleet: flags.fleet ?? "." },
    clusters: flags.cluster,
    clusterTimeoutMs: timeout.seconds * 1000,
  };
}

/** Whether text output to stdout is coloured: a terminal, no `--no-color`, no NO_COLOR. */
export function useColor(flags: Pick<FleetFlags, "color">): boolean {
  return flags.color !== false && process.stdout.isTTY && !process.env.NO_COLOR;
}
