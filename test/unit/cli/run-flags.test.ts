/**
 * `bosun run`'s flags and their environment variables: a variable stands in for its flag (a container
 * sets no flags), a flag wins over its variable, and a bad value from either exits 2 naming both.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../src/cli/program.js";
import { runSettings, RUN_ENV, RUN_SECRET_ENV } from "../../../src/cli/run.js";
import { UsageError } from "../../../src/errors.js";

const saved = { ...process.env };
type RunFlags = Parameters<typeof runSettings>[0];
afterEach(() => {
  for (const name of Object.values(RUN_ENV)) {
    if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = saved[name];
  }
});

async function check(args: string[]): Promise<{ code: number; err: string }> {
  let err = "";
  const code = await main(args, { checkOnly: true, stdout: () => undefined, stderr: (t) => (err += t) });
  return { code, err };
}

describe("bosun run's flags", () => {
  it("takes every setting from its environment variable when the flag is absent", async () => {
    process.env[RUN_ENV.fleet] = ".";
    process.env[RUN_ENV.interval] = "soon";
    const bad = await check(["run"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("BOSUN_INTERVAL");
    process.env[RUN_ENV.interval] = "30s";
    expect((await check(["run"])).code).toBe(0);
    // The flag wins over the variable.
    expect((await check(["run", "--interval", "soon"])).code).toBe(2);
  });

  it("resolves the defaults: 1m, 5m, 127.0.0.1:8080, a state directory, bosun-system, 60s", async () => {
    const settings = await runSettings({ fleet: ".", interval: "1m", driftInterval: "5m", listen: "127.0.0.1:8080", stateNamespace: "bosun-system", shutdownTimeout: "60s", clusterTimeout: "60s", logLevel: "info" }, {});
    expect(settings).toMatchObject({ intervalMs: 60_000, driftIntervalMs: 300_000, listen: "127.0.0.1:8080", shutdownTimeoutMs: 60_000, clusterTimeoutMs: 60_000, state: { kind: "directory" } });
    expect(settings.source).toEqual({ fleet: "." });
  });

  it("follows main by default with --repo, and kubernetes state with its context and namespace", async () => {
    const settings = await runSettings({ repo: "https://git.example.com/fleet.git", interval: "1m", driftInterval: "5m", listen: "0.0.0.0:9090", state: "kubernetes", stateContext: "mgmt", stateNamespace: "ops", shutdownTimeout: "30s", clusterTimeout: "60s", logLevel: "debug" }, {});
    expect(settings.source).toEqual({ repo: "https://git.example.com/fleet.git", ref: "main" });
    expect(settings.state).toEqual({ kind: "kubernetes", context: "mgmt", namespace: "ops" });
  });
});

describe("bosun run's pull-request bot flags", () => {
  const BASE_FLAGS = { repo: "https://git.example.com/fleet.git", interval: "1m", driftInterval: "5m", listen: "127.0.0.1:8080", stateNamespace: "bosun-system", shutdownTimeout: "60s", clusterTimeout: "60s", logLevel: "info" } as const;
  const TOKENS = { [RUN_SECRET_ENV.githubToken]: "ghp_test", [RUN_SECRET_ENV.gitlabToken]: "glpat-test" };
  let dir: string;
  let keyFile: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-run-flags-"));
    keyFile = path.join(dir, "app.pem");
    await fs.writeFile(keyFile, "-----BEGIN RSA PRIVATE KEY-----\nnot a real key\n-----END RSA PRIVATE KEY-----\n");
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it.each<[string, Partial<RunFlags>, NodeJS.ProcessEnv, RegExp]>([
    ["an App flag without --github-repo", { githubAppId: "1" }, TOKENS, /--github-app-\* and --github-api-url go with --github-repo \(BOSUN_GITHUB_REPO\)/],
    ["--github-api-url without --github-repo", { githubApiUrl: "https://ghe.example.com/api/v3" }, TOKENS, /go with --github-repo \(BOSUN_GITHUB_REPO\)/],
    ["--gitlab-url without --gitlab-project", { gitlabUrl: "https://gitlab.example.com" }, TOKENS, /--gitlab-url goes with --gitlab-project \(BOSUN_GITLAB_PROJECT\)/],
    ["--github-repo with --fleet", { repo: undefined, fleet: ".", githubRepo: "acme/fleet" }, TOKENS, /--github-repo and --gitlab-project .*give --repo, not --fleet/],
    ["--gitlab-project with --fleet", { repo: undefined, fleet: ".", gitlabProject: "acme/fleet" }, TOKENS, /give --repo, not --fleet/],
    ["--github-repo without a slash", { githubRepo: "acme" }, TOKENS, /--github-repo \(BOSUN_GITHUB_REPO\): owner\/name, not "acme"/],
    ["--github-repo with a path", { githubRepo: "acme/fleet/extra" }, TOKENS, /--github-repo \(BOSUN_GITHUB_REPO\): owner\/name/],
    ["--github-repo named ..", { githubRepo: "acme/.." }, TOKENS, /--github-repo \(BOSUN_GITHUB_REPO\): owner\/name/],
    ["--github-api-url not a URL", { githubRepo: "acme/fleet", githubApiUrl: "ghe.example.com" }, TOKENS, /--github-api-url \(BOSUN_GITHUB_API_URL\): not a URL/],
    ["--github-api-url not http(s)", { githubRepo: "acme/fleet", githubApiUrl: "ftp://ghe.example.com" }, TOKENS, /--github-api-url \(BOSUN_GITHUB_API_URL\): http or https, not ftp:/],
    ["--github-api-url with credentials", { githubRepo: "acme/fleet", githubApiUrl: "https://u:p@ghe.example.com/api/v3" }, TOKENS, /--github-api-url \(BOSUN_GITHUB_API_URL\): no credentials, query or fragment/],
    ["--github-app-id without a key file", { githubRepo: "acme/fleet", githubAppId: "1" }, TOKENS, /both --github-app-id \(BOSUN_GITHUB_APP_ID\) and --github-app-private-key-file \(BOSUN_GITHUB_APP_PRIVATE_KEY_FILE\)/],
    ["a key file without --github-app-id", { githubRepo: "acme/fleet", githubAppKeyFile: "app.pem" }, TOKENS, /both --github-app-id .* and --github-app-private-key-file/],
    ["--github-app-id not a number", { githubRepo: "acme/fleet", githubAppId: "my-app", githubAppKeyFile: "app.pem" }, TOKENS, /--github-app-id \(BOSUN_GITHUB_APP_ID\): a positive integer, not "my-app"/],
    ["--github-app-id 0", { githubRepo: "acme/fleet", githubAppId: "0", githubAppKeyFile: "app.pem" }, TOKENS, /--github-app-id \(BOSUN_GITHUB_APP_ID\): a positive integer/],
    ["a missing key file", { githubRepo: "acme/fleet", githubAppId: "1", githubAppKeyFile: "missing.pem" }, TOKENS, /--github-app-private-key-file ".*missing\.pem"/],
    ["--github-app-installation-id not a number", { githubRepo: "acme/fleet", githubAppId: "1", githubAppKeyFile: "app.pem", githubAppInstallation: "-3" }, TOKENS, /--github-app-installation-id \(BOSUN_GITHUB_APP_INSTALLATION_ID\): a positive integer, not "-3"/],
    ["--github-app-installation-id with a token", { githubRepo: "acme/fleet", githubAppInstallation: "3" }, TOKENS, /--github-app-installation-id goes with --github-app-id/],
    ["--github-repo without a token", { githubRepo: "acme/fleet" }, {}, /--github-repo: set BOSUN_GITHUB_TOKEN, or --github-app-id with --github-app-private-key-file/],
    ["--github-repo with an empty token", { githubRepo: "acme/fleet" }, { [RUN_SECRET_ENV.githubToken]: "" }, /set BOSUN_GITHUB_TOKEN/],
    ["--gitlab-project without a group", { gitlabProject: "fleet" }, TOKENS, /--gitlab-project \(BOSUN_GITLAB_PROJECT\): group\/name or a numeric id, not "fleet"/],
    ["--gitlab-project with a URL", { gitlabProject: "https://gitlab.com/acme/fleet" }, TOKENS, /--gitlab-project \(BOSUN_GITLAB_PROJECT\): group\/name or a numeric id/],
    ["--gitlab-project without a token", { gitlabProject: "acme/fleet" }, {}, /--gitlab-project: set BOSUN_GITLAB_TOKEN/],
    ["--gitlab-url not http(s)", { gitlabProject: "acme/fleet", gitlabUrl: "ssh://gitlab.example.com" }, TOKENS, /--gitlab-url \(BOSUN_GITLAB_URL\): http or https, not ssh:/],
    ["--gitlab-url with a query", { gitlabProject: "acme/fleet", gitlabUrl: "https://gitlab.example.com/?x=1" }, TOKENS, /--gitlab-url \(BOSUN_GITLAB_URL\): no credentials, query or fragment/],
  ])("refuses %s, naming the flag or variable", async (_name, flags, env, message) => {
    const resolved = { ...BASE_FLAGS, ...flags };
    if (resolved.githubAppKeyFile !== undefined && !path.isAbsolute(resolved.githubAppKeyFile)) resolved.githubAppKeyFile = path.join(dir, resolved.githubAppKeyFile);
    const settings = runSettings(resolved, env);
    await expect(settings).rejects.toThrow(UsageError);
    await expect(settings).rejects.toThrow(message);
  });

  it("has no bots without --github-repo or --gitlab-project", async () => {
    expect((await runSettings(BASE_FLAGS, TOKENS)).reviews).toEqual({ github: null, gitlab: null });
  });

  it("takes a GitHub token, and an Enterprise API URL without its trailing slash", async () => {
    expect((await runSettings({ ...BASE_FLAGS, githubRepo: "acme/fleet" }, TOKENS)).reviews.github).toEqual({ repo: { owner: "acme", repo: "fleet" }, apiUrl: null, auth: { kind: "token" } });
    const enterprise = await runSettings({ ...BASE_FLAGS, githubRepo: "acme-corp/fleet.config", githubApiUrl: "https://ghe.example.com/api/v3/" }, TOKENS);
    expect(enterprise.reviews.github).toEqual({ repo: { owner: "acme-corp", repo: "fleet.config" }, apiUrl: "https://ghe.example.com/api/v3", auth: { kind: "token" } });
  });

  it("takes a GitHub App with its key file, with or without an installation id (no token needed)", async () => {
    const app = await runSettings({ ...BASE_FLAGS, githubRepo: "acme/fleet", githubAppId: "12345", githubAppKeyFile: keyFile, githubAppInstallation: "678" }, {});
    expect(app.reviews.github?.auth).toEqual({ kind: "app", appId: 12345, keyFile: path.resolve(keyFile), installationId: 678 });
    const lookedUp = await runSettings({ ...BASE_FLAGS, githubRepo: "acme/fleet", githubAppId: "12345", githubAppKeyFile: keyFile }, {});
    expect(lookedUp.reviews.github?.auth).toEqual({ kind: "app", appId: 12345, keyFile: path.resolve(keyFile), installationId: null });
  });

  it("takes a GitLab project by path or id, on gitlab.com or another instance", async () => {
    const nested = await runSettings({ ...BASE_FLAGS, gitlabProject: "acme/platform/fleet", gitlabUrl: "https://gitlab.example.com/" }, TOKENS);
    expect(nested.reviews).toEqual({ github: null, gitlab: { project: "acme/platform/fleet", url: "https://gitlab.example.com" } });
    const byId = await runSettings({ ...BASE_FLAGS, gitlabProject: "42" }, TOKENS);
    expect(byId.reviews.gitlab).toEqual({ project: "42", url: null });
    const both = await runSettings({ ...BASE_FLAGS, githubRepo: "acme/fleet", gitlabProject: "acme/fleet" }, TOKENS);
    expect(both.reviews.github).not.toBeNull();
    expect(both.reviews.gitlab).not.toBeNull();
  });

  it("takes the bot settings from their variables and exits 2 naming the missing token", async () => {
    const savedToken = process.env[RUN_SECRET_ENV.githubToken];
    Reflect.deleteProperty(process.env, RUN_SECRET_ENV.githubToken);
    try {
      process.env[RUN_ENV.repo] = "https://git.example.com/fleet.git";
      process.env[RUN_ENV.githubRepo] = "acme/fleet";
      const missing = await check(["run"]);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain("BOSUN_GITHUB_TOKEN");
      process.env[RUN_SECRET_ENV.githubToken] = "ghp_test";
      expect((await check(["run"])).code).toBe(0);
      process.env[RUN_ENV.githubRepo] = "not-a-repo";
      const bad = await check(["run"]);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("BOSUN_GITHUB_REPO");
    } finally {
      if (savedToken === undefined) Reflect.deleteProperty(process.env, RUN_SECRET_ENV.githubToken);
      else process.env[RUN_SECRET_ENV.githubToken] = savedToken;
    }
  });
});
