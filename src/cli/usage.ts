/**
 * Turning a refusal of a flag's value into a usage error. The checks themselves live with the code that
 * owns the value (the Git source checks `--repo` and `--ref`, the sandbox checks `--name`) and throw
 * `InvalidInputError`, because their other callers are not command lines; the CLI knows the value came
 * from its command line and makes the refusal what it is there: a usage error, exit 2.
 */
import { InvalidInputError, UsageError } from "../errors.js";

/** Runs a check of a flag value; its `InvalidInputError` becomes a `UsageError` with the same message. */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}
