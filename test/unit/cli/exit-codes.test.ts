/**
 * The exit-code contract of src/cli/exit.ts, as tables: which error or plan outcome gives which code,
 * under the default contract and under `plan --detailed-exitcode`, where 2 means "changes" and nothing else.
 */
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import {
  EXIT_CHANGES,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  exitCodeFor,
  exitContractOf,
  planExitCode,
  reportError,
  type ExitContract,
} from "../../../src/cli/exit.js";
import { BosunError, InternalError, InvalidInputError, ProcessError, ToolNotFoundError, UsageError } from "../../../src/errors.js";
import type { Plan } from "../../../src/plan/types.js";

const ESC = "\u001b";

describe("exitCodeFor", () => {
  it.each<[string, unknown, ExitContract, number]>([
    ["a usage error", new UsageError("--timeout: soon"), "default", EXIT_USAGE],
    ["a usage error under --detailed-exitcode", new UsageError("--timeout: soon"), "detailed", EXIT_FAILURE],
    ["a commander refusal", new CommanderError(1, "commander.unknownOption", "unknown option"), "default", EXIT_USAGE],
    ["a commander refusal under --detailed-exitcode", new CommanderError(1, "commander.unknownOption", "unknown option"), "detailed", EXIT_FAILURE],
    ["help", new CommanderError(0, "commander.helpDisplayed", "(outputHelp)"), "default", EXIT_OK],
    ["version under --detailed-exitcode", new CommanderError(0, "commander.version", "0.1.0"), "detailed", EXIT_OK],
    ["invalid input", new InvalidInputError("fleet.yaml: bad"), "default", EXIT_FAILURE],
    ["invalid input under --detailed-exitcode", new InvalidInputError("fleet.yaml: bad"), "detailed", EXIT_FAILURE],
    ["a missing tool", new ToolNotFoundError("helm", "install it"), "default", EXIT_FAILURE],
    ["a failed process", new ProcessError({ tool: "helm", args: [], exitCode: 1, stderr: "", timedOut: false }), "detailed", EXIT_FAILURE],
    ["a Git failure", new BosunError("fetch failed", { reason: "GitFailed" }), "default", EXIT_FAILURE],
    ["an internal error", new InternalError("broken invariant"), "default", EXIT_FAILURE],
    ["a TypeError (a bug)", new TypeError("x is undefined"), "default", EXIT_FAILURE],
    ["a TypeError under --detailed-exitcode", new TypeError("x is undefined"), "detailed", EXIT_FAILURE],
    ["a thrown string", "boom", "default", EXIT_FAILURE],
  ])("%s exits as it should", (_name, error, contract, code) => {
    expect(exitCodeFor(error, contract)).toBe(code);
  });

  it("never lets an error exit 2 under --detailed-exitcode", () => {
    const errors = [new UsageError("x"), new InvalidInputError("x"), new CommanderError(2, "commander.error", "x"), new Error("x")];
    for (const error of errors) expect(exitCodeFor(error, "detailed")).not.toBe(EXIT_CHANGES);
  });
});

describe("exitContractOf", () => {
  it.each<[string[], ExitContract]>([
    [["plan", "--detailed-exitcode"], "detailed"],
    [["plan", "--fleet", "x", "--detailed-exitcode", "--bogus"], "detailed"],
    [["plan", "--bogus", "--detailed-exitcode"], "detailed"],
    [["plan"], "default"],
    [["plan", "--", "--detailed-exitcode"], "default"],
    [["apply", "--detailed-exitcode"], "default"],
    [["validate", "--detailed-exitcode"], "default"],
    [[], "default"],
  ])("%j is under the %s contract", (argv, contract) => {
    expect(exitContractOf(argv)).toBe(contract);
  });
});

describe("planExitCode", () => {
  const summary = (clusters: Partial<Plan["summary"]["clusters"]>): Plan["summary"] => ({
    clusters: { "in-sync": 0, changes: 0, blocked: 0, unreachable: 0, invalid: 0, ...clusters },
    steps: { pending: 0, blocked: 0, manual: 0 },
  });
  it.each<[string, Partial<Plan["summary"]["clusters"]>, number, number]>([
    ["all in sync", { "in-sync": 3 }, EXIT_OK, EXIT_OK],
    ["changes", { "in-sync": 1, changes: 2 }, EXIT_OK, EXIT_CHANGES],
    ["blocked steps", { blocked: 1 }, EXIT_OK, EXIT_CHANGES],
    ["an unreachable cluster", { changes: 1, unreachable: 1 }, EXIT_FAILURE, EXIT_FAILURE],
    ["an invalid cluster", { "in-sync": 1, invalid: 1 }, EXIT_FAILURE, EXIT_FAILURE],
    ["no clusters", {}, EXIT_OK, EXIT_OK],
  ])("%s: default %i, detailed %i", (_name, clusters, byDefault, detailed) => {
    expect(planExitCode(summary(clusters), "default")).toBe(byDefault);
    expect(planExitCode(summary(clusters), "detailed")).toBe(detailed);
  });
});

describe("reportError", () => {
  it.each<[string, unknown, RegExp]>([
    ["a bosun error", new InvalidInputError(`cluster "a${ESC}]0;owned\u0007": bad`), /^bosun: cluster "a\\x1b\]0;owned\\x07": bad\n$/],
    ["a usage error quoting a C1 control", new UsageError("--ref \"x\u009b2J\": bad"), /^bosun: --ref "x\\x9b2J": bad\n$/],
    ["a bug", new TypeError(`bad ${ESC}[2J`), /^bosun: internal error \(a bug in bosun; please report it\): TypeError: bad \\x1b\[2J/],
  ])("prints %s escaped, on stderr", (_name, error, expected) => {
    const out: string[] = [];
    reportError(error, (t) => out.push(t));
    expect(out.join("")).toMatch(expected);
    for (const byte of [ESC, "\u0007", "\u009b"]) expect(out.join("")).not.toContain(byte);
  });

  it("prints nothing for commander's errors, which commander printed itself", () => {
    const out: string[] = [];
    expect(reportError(new CommanderError(1, "commander.unknownOption", "error: unknown option"), (t) => out.push(t))).toBe(EXIT_USAGE);
    expect(out).toEqual([]);
  });
});
