/**
 * Hostile fleets that point bosun at a kubeconfig whose credential plugin runs their code: a kubeconfig
 * committed to the repository (by absolute path, relative path, a symlink from outside, elsewhere in the
 * Git work tree), a first commit's checkout in bosun's Git cache named by a second commit, and an
 * auth-provider `cmd-path`. None may run anything. Then the operator's side of the decision
 * (docs/adr/0004): plugins of a kubeconfig outside the repository run only with --allow-exec-plugins
 * (or BOSUN_ALLOW_EXEC_PLUGINS), and those of the operator's own $KUBECONFIG run by default.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultGitCacheDir, sourceCache } from "../../src/source/cache.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { sharedSandbox } from "../support/sandbox.js";
import { credentialScript, execUser, gammaAccess, kubeconfigYaml, operatorDir } from "./kube-support.js";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
const repos: HostileRepo[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
  await Promise.all(repos.map((r) => r.cleanup()));
});

/** A Cluster file for cluster `name` whose connection is `connection` (YAML flow map). */
function clusterWith(name: string, connection: string): string {
  return clusterYaml(name).replace("connection: { context: gamma }", `connection: ${connection}`);
}

/** The payload of an exec user: touch a marker, print the canaries (a plugin could print anything). */
const PAYLOAD = execUser(`touch "$MARKER/exec-ran"; echo ${canaries.all.join(" ")} >&2; exit 1`);

async function repoWith(files: Record<string, string>): Promise<HostileRepo> {
  const repo = await hostileRepo(files);
  repos.push(repo);
  return repo;
}

describe("a kubeconfig from the repository never runs its exec plugin", () => {
  it("by absolute path into the repository", async () => {
    const repo = await repoWith({});
    await repo.write("kc.yaml", kubeconfigYaml(gammaAccess(), PAYLOAD));
    await repo.write("clusters/a.yaml", clusterWith("a", `{ kubeconfig: { path: ${path.join(repo.dir, "kc.yaml")} } }`));
    for (const output of ["text", "markdown", "json"]) {
      const result = await runHostile(["plan", "--fleet", repo.dir, "-o", output], canaries);
      await expectSafe(repo, canaries, result, { mentions: ["lies inside the fleet repository", "connection.kubeconfig.path"] });
    }
  });

  it("by a relative path, which would be read from the working directory: refused at validation", async () => {
    const repo = await repoWith({ "clusters/a.yaml": clusterWith("a", "{ kubeconfig: { path: kc.yaml } }") });
    await repo.write("kc.yaml", kubeconfigYaml(gammaAccess(), PAYLOAD));
    for (const args of [["plan", "--fleet", "."], ["validate", "."], ["plan", "--fleet", ".", "-o", "json"]]) {
      const result = await runHostile(args, canaries, { cwd: repo.dir });
      const at = args.includes("json") ? /"file": "clusters\/a\.yaml",\s+"line": 7,/ : /clusters\/a\.yaml:7:\d+: kubeconfig path "kc\.yaml" must be absolute/;
      await expectSafe(repo, canaries, result, { mentions: [at, /kubeconfig path \\?"kc\.yaml\\?" must be absolute/, "spec.connection.kubeconfig.path"] });
    }
  });

  it("through a symlink outside the repository that points into it", async () => {
    const repo = await repoWith({});
    await repo.write("kc.yaml", kubeconfigYaml(gammaAccess(), PAYLOAD));
    const outside = await operatorDir();
    cleanups.push(outside.cleanup);
    await fs.symlink(path.join(repo.dir, "kc.yaml"), path.join(outside.dir, "kubeconfig"));
    await repo.write("clusters/a.yaml", clusterWith("a", `{ kubeconfig: { path: ${path.join(outside.dir, "kubeconfig")} } }`));
    // Plugins allowed: what refuses the file is where it really lies.
    const result = await runHostile(["plan", "--fleet", repo.dir], canaries, { env: { BOSUN_ALLOW_EXEC_PLUGINS: "true" } });
    await expectSafe(repo, canaries, result, { mentions: ["lies inside the fleet repository"] });
  });

  it("from elsewhere in the Git work tree of a fleet in a subdirectory", async () => {
    const repo = await repoWith({});
    await repo.write("kc.yaml", kubeconfigYaml(gammaAccess(), PAYLOAD));
    await repo.write("fleet/fleet.yaml", await fs.readFile(path.join(repo.dir, "fleet.yaml"), "utf8"));
    await repo.write("fleet/clusters/a.yaml", clusterWith("a", `{ kubeconfig: { path: ${path.join(repo.dir, "kc.yaml")} } }`));
    await execa("git", ["init", "-q", repo.dir]);
    const result = await runHostile(["plan", "--fleet", path.join(repo.dir, "fleet")], canaries);
    await expectSafe(repo, canaries, result, { mentions: ["lies inside the fleet's Git work tree"] });
  });

  it("through --repo: a second commit naming the first commit's checkout in bosun's Git cache", async () => {
    const server: GitServer = await startGitServer();
    cleanups.push(server.close);
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml("a") });
    await repo.write("kc.yaml", kubeconfigYaml(gammaAccess(), PAYLOAD));
    const url = await server.serveFixture(repo.dir, "fleet");
    const bare = path.join(server.root, "fleet.git");
    const first = (await execa("git", ["--git-dir", bare, "rev-parse", "HEAD"])).stdout.trim();

    // The first commit is harmless: planning it puts its files, kc.yaml included, into the cache.
    const planned = await runHostile(["plan", "--repo", url, "--ref", first], canaries);
    await expectSafe(repo, canaries, planned, { exitCodes: [0] });
    const checkout = path.join(sourceCache(defaultGitCacheDir(), `url:${url}`).worktrees, first);
    expect(await fs.readFile(path.join(checkout, "kc.yaml"), "utf8")).toContain("exec-ran");

    // The second commit points its cluster at that cached file.
    const work = path.join(path.dirname(repo.dir), "work");
    await execa("git", ["clone", "-q", bare, work]);
    await fs.writeFile(path.join(work, "clusters/a.yaml"), clusterWith("a", `{ kubeconfig: { path: ${path.join(checkout, "kc.yaml")} } }`));
    const git = (...args: string[]): Promise<unknown> => execa("git", ["-C", work, "-c", "user.name=h", "-c", "user.email=h@example.com", ...args]);
    await git("commit", "-qam", "point at the cache");
    await git("push", "-q", "origin", "HEAD");
    for (const output of ["text", "json"]) {
      const result = await runHostile(["plan", "--repo", url, "--ref", "main", "-o", output], canaries, { env: { BOSUN_ALLOW_EXEC_PLUGINS: "true" } });
      await expectSafe(repo, canaries, result, { mentions: ["lies inside bosun's cache"] });
    }
  });
});

describe("an auth-provider's cmd-path never runs", () => {
  it("in a kubeconfig outside the repository, unless plugins are allowed", async () => {
    const repo = await repoWith({});
    const outside = await operatorDir();
    cleanups.push(outside.cleanup);
    const user = { "auth-provider": { name: "gcp", config: { "cmd-path": "/bin/sh", "cmd-args": `-c 'touch ${repo.markerDir}/cmd-path-ran'` } } };
    await fs.writeFile(path.join(outside.dir, "kubeconfig"), kubeconfigYaml(gammaAccess(), user));
    await repo.write("clusters/a.yaml", clusterWith("a", `{ kubeconfig: { path: ${path.join(outside.dir, "kubeconfig")} } }`));
    for (const output of ["text", "markdown", "json"]) {
      const result = await runHostile(["plan", "--fleet", repo.dir, "-o", output], canaries);
      await expectSafe(repo, canaries, result, { mentions: ["an auth-provider plugin", "--allow-exec-plugins"] });
    }
  });
});

describe("the operator decides about plugins outside the repository", () => {
  let repo: HostileRepo;
  let ran: string;

  beforeAll(async () => {
    const outside = await operatorDir();
    cleanups.push(outside.cleanup);
    ran = path.join(outside.dir, "plugin-ran");
    repo = await repoWith({});
    await fs.writeFile(path.join(outside.dir, "kubeconfig"), kubeconfigYaml(gammaAccess(), execUser(credentialScript(ran, gammaAccess().token))));
    await fs.writeFile(path.join(outside.dir, "operator-kubeconfig"), kubeconfigYaml(gammaAccess(), execUser(credentialScript(ran, gammaAccess().token)), "operator-exec"));
    await repo.write("clusters/a.yaml", clusterWith("a", `{ kubeconfig: { path: ${path.join(outside.dir, "kubeconfig")} } }`));
    await repo.write("clusters/b.yaml", clusterWith("b", "{ context: operator-exec }"));
  });

  const ranPlugin = async (): Promise<boolean> => fs.access(ran).then(() => true, () => false);
  const operatorKubeconfig = (): string => [sharedSandbox().kubeconfig, path.join(path.dirname(ran), "operator-kubeconfig")].join(path.delimiter);

  it("a kubeconfig named by the spec: refused without --allow-exec-plugins", async () => {
    await fs.rm(ran, { force: true });
    const result = await runHostile(["plan", "--fleet", repo.dir, "--cluster", "a"], canaries);
    await expectSafe(repo, canaries, result, { mentions: ["an exec credential plugin", "--allow-exec-plugins"] });
    expect(await ranPlugin()).toBe(false);
  });

  it.each([
    ["--allow-exec-plugins", ["--allow-exec-plugins"], {}],
    ["BOSUN_ALLOW_EXEC_PLUGINS=true", [], { BOSUN_ALLOW_EXEC_PLUGINS: "true" }],
  ])("a kubeconfig named by the spec: its plugin runs with %s", async (_name, flags, env) => {
    await fs.rm(ran, { force: true });
    const result = await runHostile(["plan", "--fleet", repo.dir, "--cluster", "a", ...flags], canaries, { env });
    await expectSafe(repo, canaries, result, { exitCodes: [0] });
    expect(await ranPlugin()).toBe(true);
  });

  it("a context of the operator's $KUBECONFIG keeps its exec plugin by default (EKS, GKE, AKS work unchanged)", async () => {
    await fs.rm(ran, { force: true });
    const result = await runHostile(["plan", "--fleet", repo.dir, "--cluster", "b"], canaries, { env: { KUBECONFIG: operatorKubeconfig() } });
    await expectSafe(repo, canaries, result, { exitCodes: [0] });
    expect(await ranPlugin()).toBe(true);
  });

  it("BOSUN_ALLOW_EXEC_PLUGINS with a value that is neither true nor false is a usage error", async () => {
    await fs.rm(ran, { force: true });
    const result = await runHostile(["plan", "--fleet", repo.dir, "--cluster", "a"], canaries, { env: { BOSUN_ALLOW_EXEC_PLUGINS: "maybe" } });
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: ["BOSUN_ALLOW_EXEC_PLUGINS"] });
    expect(await ranPlugin()).toBe(false);
  });
});

describe("a kubeconfig path the spec names cannot hang or flood the plan", () => {
  it.each([
    ["/dev/zero", "a device that never ends", "not a regular file"],
    ["fifo", "a named pipe nobody writes", "not a regular file"],
    ["big", "a file past the size limit", "larger than 1 MiB"],
    ["bomb", "YAML that expands a billion times", "not valid YAML within bosun's limits"],
  ])("%s (%s)", async (name, _what, message) => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-kubeconfig-"));
    cleanups.push(() => fs.rm(outside, { recursive: true, force: true }));
    let file = name;
    if (name === "fifo") {
      file = path.join(outside, "kubeconfig");
      await execa("mkfifo", [file]);
    } else if (name === "big") {
      file = path.join(outside, "kubeconfig");
      await fs.writeFile(file, `# ${"x".repeat(2 * 1024 * 1024)}\n`);
    } else if (name === "bomb") {
      file = path.join(outside, "kubeconfig");
      const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
      for (let i = 1; i < 9; i += 1) levels.push(`${"abcdefghij"[i] ?? ""}: &${"abcdefghij"[i] ?? ""} [*${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}, *${"abcdefghij"[i - 1] ?? ""}]`);
      await fs.writeFile(file, `${levels.join("\n")}\n`);
    }
    const repo = await repoWith({ "clusters/a.yaml": clusterWith("a", `{ kubeconfig: { path: ${file} } }`) });
    const result = await runHostile(["plan", "--fleet", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { mentions: [message, "connection.kubeconfig.path"] });
  });
});

describe("a kubeconfig the spec names keeps its relative paths to itself", () => {
  it("a relative certificate-authority is read beside the kubeconfig, not from the working directory", async () => {
    const outside = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-kubeconfig-"));
    cleanups.push(() => fs.rm(outside, { recursive: true, force: true }));
    const access = gammaAccess();
    await fs.writeFile(path.join(outside, "ca.crt"), Buffer.from(access.caData, "base64"));
    const text = kubeconfigYaml(access, { token: access.token }).replace(`certificate-authority-data: ${access.caData}`, "certificate-authority: ca.crt");
    expect(text).toContain("certificate-authority: ca.crt");
    await fs.writeFile(path.join(outside, "kubeconfig"), text);
    const repo = await repoWith({ "clusters/a.yaml": clusterWith("a", `{ kubeconfig: { path: ${path.join(outside, "kubeconfig")} } }`) });
    // A ca.crt of the pull request's own in the working directory must not be the one trusted.
    await repo.write("ca.crt", "not a certificate\n");
    const result = await runHostile(["plan", "--fleet", ".", "--cluster", "a"], canaries, { cwd: repo.dir });
    await expectSafe(repo, canaries, result, { exitCodes: [0] });
    expect(result.stdout).not.toMatch(/unreachable|invalid/);
  });
});
