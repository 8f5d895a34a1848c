/**
 * Property test of the command line: any argument vector — known and unknown commands and flags, flag
 * values that are empty, hostile, huge or paths that do not exist — is parsed and checked without an
 * error that is not a BosunError (which the CLI would report as a bug), with an exit code of the contract
 * (0, 1, 2; never 2 under --detailed-exitcode unless the plan had changes, which it cannot have here) and
 * no control character printed raw. `checkOnly` stops every command after its checks, so nothing is read
 * beyond the paths given, nothing is observed and nothing is started.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exitContractOf } from "../../../src/cli/exit.js";
import { main } from "../../../src/cli/program.js";

const COMMANDS: readonly (readonly string[])[] = [
  ["validate"],
  ["plan"],
  ["apply"],
  ["sandbox", "up"],
  ["sandbox", "down"],
  ["sandbox", "status"],
  ["sandbox", "binaries"],
  ["sandbox", "agent"],
  ["sandbox"],
  ["run"],
  ["approve"],
  ["pause"],
  ["resume"],
  ["help"],
  [],
];

const FLAGS = [
  "--fleet", "--repo", "--ref", "--cluster", "--timeout", "--no-color", "-o", "--output", "--out", "--detailed-exitcode",
  "--interval", "--drift-interval", "--listen", "--state", "--state-context", "--state-namespace", "--replica-id", "--shutdown-timeout",
  "--log-format", "--server", "--wave", "--revision", "--by", "--reason", "--token-file",
  "--plan", "--yes", "--ignore-windows", "--skip-soak", "--clusters", "--from", "--mode", "--name", "--root", "--dir",
  "--help", "-h", "--version", "-V", "--bogus", "-x", "--", "-",
];

const VALUES = [
  ".", "..", "/", "/nonexistent", "/nonexistent/dir/p.json", "/dev/null", "/dev/full", "/etc", "fleet-example",
  "https://git.example/f.git", "http://h/x", "ssh://git@h/x", "git@h:x.git", "file:///tmp", "ext::sh -c id", "https://u:p@h/x",
  "https://h/x?token=1", "main", "a..b", "-main", "refs/heads/x", "0123456789abcdef0123456789abcdef01234567", "@", "x.lock",
  "60s", "0s", "1h30m", "999999h", "10d", "soon", "text", "json", "markdown", "yaml", "lite", "full", "Bad_Name", "a,b", "a,a",
  "default", "kustomize", "helm", "__proto__", "constructor", "toString", "",
  "\u001b]0;owned\u0007", "\u001b[2J", "\u009b31m", "a\nb", "a\rb", "\u0000",
];

const word = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FLAGS) },
  { weight: 4, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...FLAGS), fc.constantFrom(...VALUES)).map(([f, v]) => `${f}=${v}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => "a".repeat(n)) },
);

const argv = fc.tuple(fc.constantFrom(...COMMANDS), fc.array(word, { maxLength: 8 })).map(([command, rest]) => [...command, ...rest]);

const RAW_CONTROLS = ["\u001b", "\u0007", "\u009b", "\r", "\u0000"];

describe("property: a command line is checked, never crashes", () => {
  it("random argument vectors give a contract exit code, no internal error and no raw control character", async () => {
    const codes = new Set<number>();
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        let out = "";
        let err = "";
        const code = await main(args, { checkOnly: true, stdout: (t) => (out += t), stderr: (t) => (err += t) });
        codes.add(code);
        expect(err, `bosun ${JSON.stringify(args)}`).not.toMatch(/internal error|bug in bosun/);
        expect([0, 1, 2], `bosun ${JSON.stringify(args)}:\n${err}`).toContain(code);
        // Nothing can have changes here, so under --detailed-exitcode 2 would be a usage error in disguise.
        if (exitContractOf(args) === "detailed") expect(code, `bosun ${JSON.stringify(args)}:\n${err}`).not.toBe(2);
        for (const c of RAW_CONTROLS) expect(out + err, `bosun ${JSON.stringify(args)}`).not.toContain(c);
      }),
      { numRuns: 400 },
    );
    // The vectors reach both sides: accepted, and refused (as usage, or as 1 under --detailed-exitcode).
    expect(codes.has(0) && codes.has(2)).toBe(true);
  });

  it.each([
    [["plan", "--fleet", "/nonexistent"], 2],
    [["plan", "--fleet", "/nonexistent", "--detailed-exitcode"], 1],
    [["plan", "--repo", "ssh://git@h/x", "--ref", "main"], 2],
    [["plan", "--repo", "https://h/x", "--ref", "a..b"], 2],
    [["plan", "--bogus"], 2],
    [["plan", "--bogus", "--detailed-exitcode"], 1],
    [["apply", "--yes", "--plan", "/nonexistent.json"], 2],
    [["plan", "--out", "/nonexistent/dir/p.json"], 2],
    [["sandbox", "up", "--clusters", "Bad_Name"], 2],
    [["validate", "/nonexistent"], 2],
    [["plan", "--fleet", "."], 0],
    [["run", "--fleet", "."], 0],
    [["run"], 2],
    [["run", "--fleet", ".", "--repo", "https://h/x"], 2],
    [["run", "--fleet", ".", "--interval", "soon"], 2],
    [["run", "--fleet", ".", "--interval", "1s"], 2],
    [["run", "--fleet", ".", "--listen", "example.com:80"], 2],
    [["run", "--fleet", ".", "--listen", "127.0.0.1:70000"], 2],
    [["run", "--fleet", ".", "--log-format", "xml"], 2],
    [["run", "--fleet", ".", "--state-context", "x"], 2],
    [["run", "--fleet", ".", "--replica-id", "a b"], 2],
    [["run", "--fleet", "/nonexistent"], 2],
    [["run", "--repo", "ssh://git@h/x"], 2],
    [["--help"], 0],
  ])("bosun %j exits %i after its checks", async (args, expected) => {
    let err = "";
    expect(await main(args, { checkOnly: true, stdout: () => undefined, stderr: (t) => (err += t) }), err).toBe(expected);
  });
});
