/**
 * The one place where outcomes become exit codes, and errors messages. Two contracts:
 *
 * - default: 0 success, 1 failure, 2 usage error (a command line that cannot be run as given: an unknown
 *   flag, a bad flag value, a path given on the command line that does not exist).
 * - detailed (`bosun plan --detailed-exitcode`, terraform's contract): 0 in sync, 2 changes, 1 every
 *   error — usage errors included, so a script can never mistake a typo for "changes".
 *
 * An error bosun did not expect is reported as a bug, with its stack. Every message is escaped: it can
 * quote a value from the fleet repository or a cluster.
 */
import { CommanderError } from "commander";
import { BosunError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { visible } from "../report/format.js";

/** Exit code of success (with `--detailed-exitcode`: in sync). */
export const EXIT_OK = 0;
/** Exit code of every failure. */
export const EXIT_FAILURE = 1;
/** Exit code of a command line that cannot be run as given (default contract). */
export const EXIT_USAGE = 2;
/** Exit code of `plan --detailed-exitcode` when the plan has changes (detailed contract). */
export const EXIT_CHANGES = 2;

/** Which exit codes a run promises: see the module comment. */
export type ExitContract = "default" | "detailed";

/**
 * The contract a command line asks for, read from the raw arguments: `plan` with `--detailed-exitcode`
 * before any `--`. Raw, because a command line commander refuses has no parsed flags, and its usage
 * error must still exit 1 under the detailed contract.
 */
export function exitContractOf(argv: readonly string[]): ExitContract {
  const end = argv.indexOf("--");
  const words = end < 0 ? argv : argv.slice(0, end);
  return words[0] === "plan" && words.includes("--detailed-exitcode") ? "detailed" : "default";
}

/** The exit code for an error under `contract`. Help and version (commander's exit 0) are success. */
export function exitCodeFor(error: unknown, contract: ExitContract = "default"): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : usageCode(contract);
  if (error instanceof BosunError && error.reason === "Usage") return usageCode(contract);
  return EXIT_FAILURE;
}

function usageCode(contract: ExitContract): number {
  return contract === "detailed" ? EXIT_FAILURE : EXIT_USAGE;
}

/**
 * Prints an error to stderr and returns its exit code. Commander has printed its own errors (through
 * the program's escaped output) by the time they arrive here, so they are not printed again.
 */
export function reportError(
  error: unknown,
  write: (text: string) => void = (t) => process.stderr.write(t),
  contract: ExitContract = "default",
): number {
  if (error instanceof BosunError) {
    write(visible(`bosun: ${error.message}\n`));
  } else if (!(error instanceof CommanderError)) {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    write(visible(`bosun: internal error (a bug in bosun; please report it): ${detail}\n`));
  }
  return exitCodeFor(error, contract);
}

/**
 * The exit code of a computed plan: 1 when a cluster is unreachable or invalid (the plan is still
 * printed); under the detailed contract 2 when any cluster has changes or blocked steps; otherwise 0.
 */
export function planExitCode(summary: Plan["summary"], contract: ExitContract): number {
  const { clusters } = summary;
  if (clusters.unreachable > 0 || clusters.invalid > 0) return EXIT_FAILURE;
  if (contract === "detailed" && (clusters.changes > 0 || clusters.blocked > 0)) return EXIT_CHANGES;
  return EXIT_OK;
}
