/**
 * Runs `bosun github …` / `bosun gitlab …` in the test process, the way `src/cli/program.ts` runs every
 * command (exit-overridden commander, errors through `reportError`), with the environment given instead
 * of the process's: tokens and API URLs per test, nothing inherited from the machine.
 */
import { Command } from "commander";
import { vi } from "vitest";
import type { CommandContext } from "../../src/cli/context.js";
import { reportError } from "../../src/cli/exit.js";
import { githubCommand, gitlabCommand } from "../../src/cli/scm.js";

/** What a run printed and its exit code. */
export interface ScmRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `args` (starting with `github` or `gitlab`) with `env`. */
export async function runScm(args: readonly string[], env: NodeJS.ProcessEnv, options: { checkOnly?: boolean } = {}): Promise<ScmRun> {
  let exitCode = 0;
  let stdout = "";
  let stderr = "";
  const context: CommandContext = { setExitCode: (code) => (exitCode = code), setExitContract: () => undefined, checkOnly: options.checkOnly ?? false };
  const program = new Command("bosun");
  program.addCommand(githubCommand(context, env));
  program.addCommand(gitlabCommand(context, env));
  const output = { writeOut: (t: string) => (stdout += t), writeErr: (t: string) => (stderr += t) };
  for (const command of [program, ...program.commands, ...program.commands.flatMap((c) => c.commands)]) command.exitOverride().configureOutput(output);
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    await program.parseAsync([...args], { from: "user" });
  } catch (error) {
    exitCode = reportError(error, (t) => (stderr += t));
  } finally {
    out.mockRestore();
  }
  return { exitCode, stdout, stderr };
}
