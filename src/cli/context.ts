/**
 * What every command gets from the program that runs it: where its exit code goes, which exit-code
 * contract the run is under, and whether to stop once its flags are checked.
 */
import type { ExitContract } from "./exit.js";

/** The run a command is part of. */
export interface CommandContext {
  /** Records the exit code of a command that finished without throwing. */
  setExitCode: (code: number) => void;
  /** Records the exit-code contract the parsed flags ask for (`plan --detailed-exitcode`). */
  setExitContract: (contract: ExitContract) => void;
  /**
   * Check the flags, then stop before any work (reading a fleet, talking to a cluster, starting a
   * process): how the parser is tested with random command lines without side effects.
   */
  checkOnly: boolean;
}

/** A context for running one command on its own (tests): exit codes go to `setExitCode`. */
export function commandContext(setExitCode: (code: number) => void): CommandContext {
  return { setExitCode, setExitContract: () => undefined, checkOnly: false };
}
