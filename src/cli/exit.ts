/**
 * The one place where errors become exit codes and messages. Usage errors exit 2, every other failure 1;
 * an error bosun did not expect is reported as a bug, with its stack.
 */
import { BosunError } from "../errors.js";

/** Exit code for a command line that cannot be run as given. */
export const EXIT_USAGE = 2;
/** Exit code for every other failure. */
export const EXIT_FAILURE = 1;

/** Prints an error to stderr and returns the exit code for it. */
export function reportError(error: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): number {
  if (error instanceof BosunError) {
    write(`bosun: ${error.message}\n`);
    return error.reason === "Usage" ? EXIT_USAGE : EXIT_FAILURE;
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(`bosun: internal error (a bug in bosun; please report it): ${detail}\n`);
  return EXIT_FAILURE;
}
