import { describe, expect, it } from "vitest";
import { runScm } from "../../support/scm-cli.js";

// Flags are checked before any request: with checkOnly the commands stop there, so these runs show
// what a command line is refused for without any host to talk to.
const PLAN = "package.json"; // any readable file: the plan is read only after the checks

describe("bosun github / gitlab command lines", () => {
  it.each([
    [["github", "comment", "--repo", "acme/fleet", "--pr", "3", "--plan", PLAN], { GITHUB_TOKEN: "t" }, 0, ""],
    [["github", "comment", "--repo", "acme/fleet", "--pr", "3", "--plan", PLAN, "--api-url", "https://ghe.example.com/api/v3"], { BOSUN_GITHUB_TOKEN: "t" }, 0, ""],
    [["github", "comment", "--repo", "acme/fleet", "--plan", PLAN], { GITHUB_TOKEN: "t" }, 2, "required option '--pr <number>' not specified"],
    [["github", "comment", "--repo", "acme/fleet/x", "--pr", "3", "--plan", PLAN], { GITHUB_TOKEN: "t" }, 2, "--repo \"acme/fleet/x\": expected owner/name"],
    [["github", "comment", "--repo", "acme/fleet", "--pr", "3", "--plan", PLAN], { GITHUB_API_URL: "not a url", GITHUB_TOKEN: "t" }, 2, "GITHUB_API_URL \"not a url\": expected an http(s) URL"],
    [["github", "status", "--repo", "acme/fleet", "--sha", "a".repeat(40), "--pr", "3", "--plan", PLAN], { GITHUB_TOKEN: "t" }, 2, "give one of --sha or --pr"],
    [["github", "status", "--repo", "acme/fleet", "--sha", "a".repeat(40), "--plan", PLAN, "--target-url", "file:///etc/passwd"], { GITHUB_TOKEN: "t" }, 2, "--target-url"],
    [["gitlab", "note", "--project", "group/sub/name", "--mr", "9", "--plan", PLAN], { CI_JOB_TOKEN: "t" }, 0, ""],
    [["gitlab", "note", "--project", "name", "--mr", "9", "--plan", PLAN], { CI_JOB_TOKEN: "t" }, 2, "--project \"name\": expected a numeric project id or a group/name path"],
    [["gitlab", "status", "--project", "42", "--sha", "xyz", "--plan", PLAN], { BOSUN_GITLAB_TOKEN: "t" }, 2, "--sha \"xyz\": expected a full commit SHA"],
    [["gitlab", "status", "--project", "42", "--sha", "a".repeat(40), "--plan", "no-such-plan.json"], { BOSUN_GITLAB_TOKEN: "t" }, 2, "--plan \"no-such-plan.json\": no such file or directory"],
  ] as const)("%j", async (args, env, exitCode, message) => {
    const result = await runScm(args, env, { checkOnly: true });
    expect(result.exitCode).toBe(exitCode);
    if (message === "") expect(result.stderr).toBe("");
    else expect(result.stderr).toContain(message);
  });
});
