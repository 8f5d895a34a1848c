/**
 * The exit-code contract through the built CLI: a command line that cannot be run as given — a bad flag
 * value, a path given on the command line that does not exist — exits 2 for every command and names the
 * flag; a fleet or file that is wrong exits 1; and under `plan --detailed-exitcode` 2 means "changes" and
 * nothing else, so every error there (usage errors too) exits 1.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();

let repo: HostileRepo;
let plainDir: string;
let plainFile: string;

beforeAll(async () => {
  repo = await hostileRepo({ "clusters/a.yaml": clusterYaml("a") });
  plainDir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-not-a-repo-"));
  plainFile = path.join(plainDir, "file.txt");
  await fs.writeFile(plainFile, "not a fleet\n");
});
afterAll(async () => {
  await repo.cleanup();
  await fs.rm(plainDir, { recursive: true, force: true });
});

/** Usage errors of plan (and apply, which shares the flags); `dir` is a valid fleet. */
function usageCases(dir: () => string): [string, () => string[], string][] {
  return [
    ["--fleet that does not exist", () => ["--fleet", "/nonexistent"], '--fleet "/nonexistent": no such directory'],
    ["--fleet that is a file", () => ["--fleet", plainFile], "--fleet"],
    ["--repo over SSH", () => ["--repo", "ssh://git@git.invalid/fleet.git", "--ref", "main"], "--repo"],
    ["--repo with credentials (never echoed)", () => ["--repo", `https://x:${canaries.gitToken}@git.invalid/f.git`, "--ref", "main"], "--repo"],
    ["--repo that does not exist", () => ["--repo", "/nonexistent", "--ref", "main"], '--repo "/nonexistent"'],
    ["--repo that is no Git repository", () => ["--repo", plainDir, "--ref", "main"], "not a Git repository"],
    ["--ref that is no ref name", () => ["--repo", "https://git.invalid/f.git", "--ref", "a..b"], '--ref "a..b"'],
    ["--ref starting with -", () => ["--repo", "https://git.invalid/f.git", "--ref", "-x"], "--ref"],
    ["--cluster not in the fleet", () => ["--fleet", dir(), "--cluster", "nosuch"], "--cluster nosuch: not in fleet hostile"],
    ["--timeout 0s", () => ["--fleet", dir(), "--timeout", "0s"], "--timeout"],
    ["an unknown flag", () => ["--fleet", dir(), "--bogus"], "unknown option '--bogus'"],
  ];
}

describe("usage errors exit 2 and name the flag", () => {
  it.each(usageCases(() => repo.dir))("plan: %s", async (_name, args, mention) => {
    const result = await runHostile(["plan", ...args()], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: [mention] });
    expect(result.stdout, "a usage error prints no plan").toBe("");
  });

  it.each(usageCases(() => repo.dir))("apply: %s", async (_name, args, mention) => {
    const result = await runHostile(["apply", "--yes", ...args()], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: [mention] });
  });

  it.each<[string, () => string[], string]>([
    ["validate of a directory that does not exist", () => ["validate", "/nonexistent"], 'validate "/nonexistent": no such directory'],
    ["validate of a file", () => ["validate", plainFile], "not a directory"],
    ["apply --plan that does not exist", () => ["apply", "--yes", "--plan", "/nonexistent.json"], '--plan "/nonexistent.json"'],
    ["apply --plan with --cluster", () => ["apply", "--yes", "--plan", plainFile, "--cluster", "a"], "--cluster cannot be combined with --plan"],
    ["apply without --yes and without a terminal", () => ["apply", "--fleet", repo.dir], "pass --yes"],
    ["plan --out into a missing directory", () => ["plan", "--fleet", repo.dir, "--out", "/nonexistent/p.json"], "--out"],
    ["sandbox up with a bad --clusters name", () => ["sandbox", "up", "--clusters", "Bad_Name", "--root", plainDir], '--clusters: "Bad_Name"'],
    ["sandbox status with a bad --name", () => ["sandbox", "status", "--name", "../up", "--root", plainDir], "--name"],
  ])("%s", async (_name, args, mention) => {
    const result = await runHostile(args(), canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: [mention] });
  });
});

describe("a wrong fleet or file exits 1", () => {
  it("plan of an invalid fleet", async () => {
    const bad = await hostileRepo({ "clusters/a.yaml": clusterYaml("Bad_Name") });
    try {
      const result = await runHostile(["plan", "--fleet", bad.dir], canaries);
      await expectSafe(bad, canaries, result, { exitCodes: [1], mentions: ["clusters/a.yaml", "metadata.name"] });
    } finally {
      await bad.cleanup();
    }
  });

  it("apply --plan of a file that is not a plan", async () => {
    const result = await runHostile(["apply", "--yes", "--plan", plainFile], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [plainFile] });
  });
});

describe("plan --detailed-exitcode: 2 only for changes", () => {
  it.each(usageCases(() => repo.dir))("a usage error exits 1: %s", async (_name, args, mention) => {
    const result = await runHostile(["plan", "--detailed-exitcode", ...args()], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [mention] });
  });

  it("an unknown flag before --detailed-exitcode exits 1 too", async () => {
    const result = await runHostile(["plan", "--bogus", "--detailed-exitcode"], canaries, { cwd: repo.dir });
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ["--bogus"] });
  });

  it.each<[string, number, string, string | RegExp]>([
    ["in sync", 0, clusterYaml("a"), /in-sync/],
    ["with changes", 2, clusterYaml("a").replace('version: "1.35.4"', 'version: "1.36.3"'), "controlPlane.upgrade"],
    ["with an invalid cluster", 1, clusterYaml("a", "", "no-such-context"), 'context "no-such-context"'],
  ])("a plan %s exits %i", async (_name, code, cluster, mention) => {
    const fleet = await hostileRepo({ "clusters/a.yaml": cluster });
    try {
      const result = await runHostile(["plan", "--fleet", fleet.dir, "--detailed-exitcode"], canaries);
      await expectSafe(fleet, canaries, result, { exitCodes: [code], mentions: [mention] });
    } finally {
      await fleet.cleanup();
    }
  });
});
