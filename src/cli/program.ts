/**
 * The `bosun` command line as a function: parses flags, dispatches to one command, maps its outcome or
 * error to an exit code (src/cli/exit.ts). `main.ts` is the executable that calls it.
 */
import { Command } from "commander";
import { applyCommand } from "./apply.js";
import { approveCommand, pauseCommand, resumeCommand } from "./control.js";
import { runCommand } from "./run.js";
import { githubCommand, gitlabCommand } from "./scm.js";
import type { CommandContext } from "./context.js";
import { exitContractOf, reportError, type ExitContract } from "./exit.js";
import { planCommand } from "./plan.js";
import { sandboxCommand } from "./sandbox.js";
import { validateCommand } from "./validate.js";
import { visible } from "../report/format.js";

/** Options of {@link main}; the defaults are the real process's. */
export interface MainOptions {
  /** Check every flag and stop before any command does its work (see CommandContext.checkOnly). */
  checkOnly?: boolean;
  /** Receives what commander and the error report write to stdout / stderr. */
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const stdout = options.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = options.stderr ?? ((text: string) => process.stderr.write(text));
  const run: { exitCode: number; contract: ExitContract } = { exitCode: 0, contract: exitContractOf(argv) };
  const context: CommandContext = {
    setExitCode: (code) => (run.exitCode = code),
    setExitContract: (contract) => (run.contract = contract),
    checkOnly: options.checkOnly ?? false,
  };
  const program = new Command("bosun")
    .description("GitOps reconciler for fleets of Kubernetes clusters")
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError();
  program.addCommand(sandboxCommand(context));
  program.addCommand(validateCommand(context));
  program.addCommand(planCommand(context));
  program.addCommand(applyCommand(context));
  program.addCommand(runCommand(context));
  program.addCommand(approveCommand(context));
  program.addCommand(pauseCommand(context));
  program.addCommand(resumeCommand(context));
  program.addCommand(githubCommand(context));
  program.addCommand(gitlabCommand(context));
  // Commander quotes what it refuses ("unknown option '…'"): a command line can be built from a pull
  // request (a branch name in --ref), so its messages are escaped like everything else bosun prints.
  const output = {
    writeOut: (text: string) => {
      stdout(visible(text));
    },
    writeErr: (text: string) => {
      stderr(visible(text));
    },
  };
  for (const command of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) {
    command.exitOverride().configureOutput(output);
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return run.exitCode;
  } catch (error) {
    return reportError(error, stderr, run.contract);
  }
}
