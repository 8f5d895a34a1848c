#!/usr/bin/env node
/**
 * The `bosun` command line: parses flags, dispatches to one command, maps errors to exit codes.
 */
import { Command, CommanderError } from "commander";
import { applyCommand } from "./apply.js";
import { planCommand } from "./plan.js";
import { sandboxCommand } from "./sandbox.js";
import { validateCommand } from "./validate.js";
import { EXIT_USAGE, reportError } from "./exit.js";

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command("bosun")
    .description("GitOps reconciler for fleets of Kubernetes clusters")
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(sandboxCommand((code) => (exitCode = code)));
  program.addCommand(validateCommand((code) => (exitCode = code)));
  program.addCommand(planCommand((code) => (exitCode = code)));
  program.addCommand(applyCommand((code) => (exitCode = code)));
  for (const command of program.commands) command.exitOverride();
  for (const command of program.commands.flatMap((c) => c.commands)) command.exitOverride();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are exits with code 0; anything else commander rejects is a usage error.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return reportError(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
