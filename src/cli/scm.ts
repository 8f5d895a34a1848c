/**
 * `bosun github …` and `bosun gitlab …`: post a saved plan (`bosun plan --out plan.json`) to a pull or
 * merge request from CI — one comment or note, updated in place, and one commit status per cluster plus
 * `bosun/plan`. Every flag is checked before any request (exit 2 for a usage error, a missing token
 * included); exit 1 when the host refuses or cannot be reached, 0 once everything was posted — the
 * statuses, not the exit code, say whether the plan is blocked. Tokens come from the environment only, so
 * they never sit in a process list, and never appear in a message.
 */
import { Command } from "commander";
import { UsageError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { checkPlanUrl } from "../scm/comment.js";
import type { CommandContext } from "./context.js";
import { EXIT_OK } from "./exit.js";
import { checkReadableFile, readFlagFile } from "./files.js";
import { print } from "./output.js";

/** The largest plan file read, as `apply --plan` (src/cli/apply.ts). */
const MAX_PLAN_FILE_BYTES = 64 * 1024 * 1024;

/** How long one `bosun github` command may talk to GitHub before it gives up. */
const GITHUB_TIMEOUT_MS = 120_000;

interface PlanFlags {
  plan: string;
}

interface GitHubFlags extends PlanFlags {
  repo: string;
  apiUrl?: string;
}

interface GitHubCommentFlags extends GitHubFlags {
  pr: string;
  planUrl?: string;
}

interface GitHubStatusFlags extends GitHubFlags {
  sha?: string;
  pr?: string;
  targetUrl?: string;
}

interface GitLabFlags extends PlanFlags {
  project: string;
  host?: string;
}

interface GitLabNoteFlags extends GitLabFlags {
  mr: string;
  planUrl?: string;
}

interface GitLabStatusFlags extends GitLabFlags {
  sha: string;
  targetUrl?: string;
}

/**
 * Builds `bosun github` with `comment` and `status`. Token: `BOSUN_GITHUB_TOKEN`, else `GITHUB_TOKEN`;
 * API URL: `--api-url`, else `GITHUB_API_URL` (set by GitHub Actions, also on Enterprise Server), else
 * `https://api.github.com`.
 */
export function githubCommand(context: CommandContext, env: NodeJS.ProcessEnv = process.env): Command {
  const github = new Command("github").description("post a plan to a GitHub pull request: one comment and commit statuses per cluster");
  github
    .command("comment")
    .description("create or update the plan comment of a pull request")
    .requiredOption("--repo <owner/name>", "the repository")
    .requiredOption("--pr <number>", "the pull request")
    .requiredOption("--plan <file>", "the plan (bosun plan --out plan.json)")
    .option("--plan-url <url>", "where the full plan can be read, linked when the comment is shortened")
    .option("--api-url <url>", "GitHub's API (GitHub Enterprise Server: https://<host>/api/v3)")
    .action(async (flags: GitHubCommentFlags) => {
      const repo = checkRepo(flags.repo);
      const pr = checkNumber("--pr", flags.pr);
      if (flags.planUrl !== undefined) checkUrlFlag("--plan-url", flags.planUrl);
      const connection = githubConnection(flags, env);
      await checkReadableFile("--plan", flags.plan, MAX_PLAN_FILE_BYTES);
      if (context.checkOnly) return;
      const [plan, gh] = await Promise.all([loadPlan(flags.plan), import("../scm/github.js")]);
      const outcome = await gh.upsertPlanComment(gh.githubClient(connection), repo, pr, plan, flags.planUrl === undefined ? {} : { planUrl: flags.planUrl });
      print(`comment ${outcome.action}: ${outcome.url}${outcome.truncated ? " (shortened to fit GitHub's limit)" : ""}\n`);
      context.setExitCode(EXIT_OK);
    });
  github
    .command("status")
    .description("set one commit status per cluster (bosun/<cluster>) and bosun/plan")
    .requiredOption("--repo <owner/name>", "the repository")
    .option("--sha <sha>", "the commit (the pull request's head)")
    .option("--pr <number>", "the pull request whose head commit gets the statuses (instead of --sha)")
    .requiredOption("--plan <file>", "the plan (bosun plan --out plan.json)")
    .option("--target-url <url>", "linked from every status (the CI run, the status page)")
    .option("--api-url <url>", "GitHub's API (GitHub Enterprise Server: https://<host>/api/v3)")
    .action(async (flags: GitHubStatusFlags) => {
      const repo = checkRepo(flags.repo);
      if ((flags.sha === undefined) === (flags.pr === undefined)) throw new UsageError("give one of --sha or --pr");
      const sha = flags.sha === undefined ? undefined : checkSha(flags.sha);
      const pr = flags.pr === undefined ? undefined : checkNumber("--pr", flags.pr);
      if (flags.targetUrl !== undefined) checkUrlFlag("--target-url", flags.targetUrl);
      const connection = githubConnection(flags, env);
      await checkReadableFile("--plan", flags.plan, MAX_PLAN_FILE_BYTES);
      if (context.checkOnly) return;
      const [plan, gh] = await Promise.all([loadPlan(flags.plan), import("../scm/github.js")]);
      const client = gh.githubClient(connection);
      const head = sha ?? (await gh.pullRequestHead(client, repo, pr ?? 0));
      const statuses = await gh.setPlanStatuses(client, repo, head, plan, flags.targetUrl === undefined ? {} : { targetUrl: flags.targetUrl });
      for (const status of statuses) print(`${status.context}: ${status.state}: ${status.description}\n`);
      context.setExitCode(EXIT_OK);
    });
  return github;
}

/**
 * Builds `bosun gitlab` with `note` and `status`. Token: `BOSUN_GITLAB_TOKEN` (an access token), else
 * `CI_JOB_TOKEN`; host: `--host`, else `CI_SERVER_URL` (set by GitLab CI), else `https://gitlab.com`.
 */
export function gitlabCommand(context: CommandContext, env: NodeJS.ProcessEnv = process.env): Command {
  const gitlab = new Command("gitlab").description("post a plan to a GitLab merge request: one note and commit statuses per cluster");
  gitlab
    .command("note")
    .description("create or update the plan note of a merge request")
    .requiredOption("--project <id|path>", "the project: numeric id or group/name")
    .requiredOption("--mr <iid>", "the merge request's IID")
    .requiredOption("--plan <file>", "the plan (bosun plan --out plan.json)")
    .option("--plan-url <url>", "where the full plan can be read, linked when the note is shortened")
    .option("--host <url>", "the GitLab instance")
    .action(async (flags: GitLabNoteFlags) => {
      const project = checkProject(flags.project);
      const mr = checkNumber("--mr", flags.mr);
      if (flags.planUrl !== undefined) checkUrlFlag("--plan-url", flags.planUrl);
      const connection = gitlabConnection(flags, env);
      await checkReadableFile("--plan", flags.plan, MAX_PLAN_FILE_BYTES);
      if (context.checkOnly) return;
      const [plan, gl] = await Promise.all([loadPlan(flags.plan), import("../scm/gitlab.js")]);
      const outcome = await gl.upsertPlanNote(gl.gitlabClient(connection), project, mr, plan, flags.planUrl === undefined ? {} : { planUrl: flags.planUrl });
      print(`note ${outcome.action}: ${outcome.id}${outcome.truncated ? " (shortened)" : ""}\n`);
      context.setExitCode(EXIT_OK);
    });
  gitlab
    .command("status")
    .description("set one commit status per cluster (bosun/<cluster>) and bosun/plan")
    .requiredOption("--project <id|path>", "the project: numeric id or group/name")
    .requiredOption("--sha <sha>", "the commit (the merge request's head)")
    .requiredOption("--plan <file>", "the plan (bosun plan --out plan.json)")
    .option("--target-url <url>", "linked from every status")
    .option("--host <url>", "the GitLab instance")
    .action(async (flags: GitLabStatusFlags) => {
      const project = checkProject(flags.project);
      const sha = checkSha(flags.sha);
      if (flags.targetUrl !== undefined) checkUrlFlag("--target-url", flags.targetUrl);
      const connection = gitlabConnection(flags, env);
      await checkReadableFile("--plan", flags.plan, MAX_PLAN_FILE_BYTES);
      if (context.checkOnly) return;
      const [plan, gl] = await Promise.all([loadPlan(flags.plan), import("../scm/gitlab.js")]);
      const statuses = await gl.setGitLabPlanStatuses(gl.gitlabClient(connection), project, sha, plan, flags.targetUrl === undefined ? {} : { targetUrl: flags.targetUrl });
      for (const status of statuses) print(`${status.context}: ${status.state === "success" ? "success" : "failed"}: ${status.description}\n`);
      context.setExitCode(EXIT_OK);
    });
  return gitlab;
}

// ---- flag checks: all before any request -----------------------------------------------------------------

function checkRepo(value: string): { owner: string; repo: string } {
  const match = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/.exec(value);
  if (!match || match[2] === "." || match[2] === "..") throw new UsageError(`--repo ${JSON.stringify(value)}: expected owner/name`);
  return { owner: match[1] ?? "", repo: match[2] ?? "" };
}

function checkProject(value: string): string {
  const numeric = /^[1-9]\d*$/.test(value);
  const path = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$/.test(value) && !value.split("/").includes("..");
  if (!numeric && !path) throw new UsageError(`--project ${JSON.stringify(value)}: expected a numeric project id or a group/name path`);
  return value;
}

function checkNumber(flag: string, value: string): number {
  if (!/^[1-9]\d{0,9}$/.test(value)) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected a positive number`);
  return Number(value);
}

function checkSha(value: string): string {
  if (!/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(value)) throw new UsageError(`--sha ${JSON.stringify(value)}: expected a full commit SHA (40 hex digits)`);
  return value.toLowerCase();
}

function checkUrlFlag(flag: string, value: string): string {
  try {
    return checkPlanUrl(value);
  } catch {
    throw new UsageError(`${flag} ${JSON.stringify(value)}: expected an http(s) URL`);
  }
}

function githubConnection(flags: GitHubFlags, env: NodeJS.ProcessEnv): { token: string; apiUrl: string; signal: AbortSignal } {
  const apiUrl = flags.apiUrl ?? nonEmpty(env.GITHUB_API_URL) ?? "https://api.github.com";
  checkUrlFlag(flags.apiUrl === undefined ? "GITHUB_API_URL" : "--api-url", apiUrl);
  const token = nonEmpty(env.BOSUN_GITHUB_TOKEN) ?? nonEmpty(env.GITHUB_TOKEN);
  if (token === undefined) throw new UsageError("no GitHub token: set BOSUN_GITHUB_TOKEN or GITHUB_TOKEN");
  return { token, apiUrl, signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS) };
}

function gitlabConnection(flags: GitLabFlags, env: NodeJS.ProcessEnv): { host: string; token: { kind: "access" | "job"; value: string } } {
  const host = flags.host ?? nonEmpty(env.CI_SERVER_URL) ?? "https://gitlab.com";
  checkUrlFlag(flags.host === undefined ? "CI_SERVER_URL" : "--host", host);
  const access = nonEmpty(env.BOSUN_GITLAB_TOKEN);
  const job = nonEmpty(env.CI_JOB_TOKEN);
  if (access !== undefined) return { host, token: { kind: "access", value: access } };
  if (job !== undefined) return { host, token: { kind: "job", value: job } };
  throw new UsageError("no GitLab token: set BOSUN_GITLAB_TOKEN or CI_JOB_TOKEN");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

async function loadPlan(file: string): Promise<Plan> {
  const { readPlan } = await import("../report/json.js");
  return readPlan(await readFlagFile("--plan", file), file);
}
