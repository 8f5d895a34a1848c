/**
 * Which kubeconfigs bosun accepts (docs/adr/0004): a file the spec names must lie outside the fleet
 * repository and bosun's cache (by real path) and has its credential plugins refused unless allowed; the
 * operator's own kubeconfig keeps its plugins. Loading never runs a plugin, so these tests only load.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BosunError } from "../../../src/errors.js";
import { defaultKubeConfig, kubeConfigFor, kubeconfigPolicy, type KubeconfigPolicy } from "../../../src/kube/connect.js";
import type { Connection } from "../../../src/spec/types.js";

let base: string;
let repo: string;
let outside: string;

type UserYaml = string;
const TOKEN_USER: UserYaml = "{ token: plain-token-123456 }";
const EXEC_USER: UserYaml = "{ exec: { apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: [-c, 'exit 1'] } }";
const RELATIVE_EXEC_USER: UserYaml = "{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ./bin/helper } }";
const AUTH_PROVIDER_USER: UserYaml = "{ auth-provider: { name: gcp, config: { cmd-path: /bin/sh, cmd-args: '-c true' } } }";

function kubeconfig(user: UserYaml): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443" } }]
users: [{ name: u, user: ${user} }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`;
}

function policy(allowExecPlugins = false): KubeconfigPolicy {
  return kubeconfigPolicy(
    [
      { dir: repo, what: "the fleet repository" },
      { dir: path.join(base, "cache"), what: "bosun's cache" },
    ],
    allowExecPlugins,
  );
}

function connect(connection: Connection, options: { env?: NodeJS.ProcessEnv; allow?: boolean } = {}): string {
  try {
    const kc = kubeConfigFor("x", connection, options.env ?? {}, () => defaultKubeConfig({ KUBECONFIG: path.join(outside, "exec.yaml") }), policy(options.allow));
    return `ok: ${kc.getCurrentContext()}`;
  } catch (error) {
    expect(error).toBeInstanceOf(BosunError);
    expect((error as BosunError).reason).toBe("InvalidInput");
    return (error as Error).message;
  }
}

const file = (p: string): Connection => ({ kind: "kubeconfig-file", path: p, context: null });

beforeAll(async () => {
  base = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "bosun-kc-policy-")));
  repo = path.join(base, "repo");
  outside = path.join(base, "outside");
  await fs.mkdir(path.join(base, "cache", "git", "abc", "worktrees", "c0ffee"), { recursive: true });
  await fs.mkdir(repo, { recursive: true });
  await fs.mkdir(outside, { recursive: true });
  await fs.writeFile(path.join(repo, "kc.yaml"), kubeconfig(TOKEN_USER));
  await fs.writeFile(path.join(base, "cache", "git", "abc", "worktrees", "c0ffee", "kc.yaml"), kubeconfig(TOKEN_USER));
  await fs.writeFile(path.join(outside, "token.yaml"), kubeconfig(TOKEN_USER));
  await fs.writeFile(path.join(outside, "exec.yaml"), kubeconfig(EXEC_USER));
  await fs.writeFile(path.join(outside, "auth-provider.yaml"), kubeconfig(AUTH_PROVIDER_USER));
  await fs.writeFile(path.join(outside, "relative.yaml"), kubeconfig(RELATIVE_EXEC_USER));
  await fs.symlink(path.join(repo, "kc.yaml"), path.join(outside, "link-into-repo.yaml"));
  await fs.symlink(repo, path.join(outside, "repo-dir-link"));
});
afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe("kubeconfig files the spec names", () => {
  it("accepts a token kubeconfig outside the repository and the cache", () => {
    expect(connect(file(path.join(outside, "token.yaml")))).toBe("ok: ctx");
  });

  it.each([
    ["inside the repository", () => path.join(repo, "kc.yaml"), "the fleet repository"],
    ["inside bosun's Git cache", () => path.join(base, "cache", "git", "abc", "worktrees", "c0ffee", "kc.yaml"), "bosun's cache"],
    ["a symlink outside pointing into the repository", () => path.join(outside, "link-into-repo.yaml"), "the fleet repository"],
    ["through a symlinked directory", () => path.join(outside, "repo-dir-link", "kc.yaml"), "the fleet repository"],
    ["spelt with .. to climb back in", () => path.join(outside, "..", "repo", "kc.yaml"), "the fleet repository"],
  ])("refuses one %s, even with plugins allowed", (_name, where, what) => {
    const message = connect(file(where()), { allow: true });
    expect(message).toContain("lies inside");
    expect(message).toContain(what);
    expect(message).toContain("connection.kubeconfig.path");
  });

  it.each([
    ["an exec plugin", "exec.yaml", "an exec credential plugin"],
    ["an auth-provider plugin (cmd-path)", "auth-provider.yaml", "an auth-provider plugin"],
  ])("refuses %s unless the operator allows plugins", (_name, name, plugin) => {
    const refused = connect(file(path.join(outside, name)));
    expect(refused).toContain(plugin);
    expect(refused).toContain("--allow-exec-plugins");
    expect(connect(file(path.join(outside, name)), { allow: true })).toBe("ok: ctx");
  });

  it("names the variable, never its value, for a kubeconfig from the environment", () => {
    const value = path.join(repo, "kc.yaml");
    const inside = connect({ kind: "kubeconfig-env", env: "BOSUN_SECRET_KC", context: null }, { env: { BOSUN_SECRET_KC: value } });
    expect(inside).toContain("$BOSUN_SECRET_KC");
    expect(inside).not.toContain(value);
    const missing = connect({ kind: "kubeconfig-env", env: "BOSUN_SECRET_KC", context: null }, { env: { BOSUN_SECRET_KC: "not-a-path-secret-value" } });
    expect(missing).toContain("no such file");
    expect(missing).not.toContain("not-a-path-secret-value");
    const plugin = connect({ kind: "kubeconfig-env", env: "BOSUN_SECRET_KC", context: null }, { env: { BOSUN_SECRET_KC: path.join(outside, "exec.yaml") } });
    expect(plugin).toContain("an exec credential plugin");
    expect(plugin).not.toContain(outside);
  });

  it("refuses a relative exec command, which would run from the working directory", () => {
    expect(connect(file(path.join(outside, "relative.yaml")), { allow: true })).toContain("is a relative path");
  });
});

describe("the operator's own kubeconfig", () => {
  it("keeps its exec plugins: a spec can only pick one of its contexts", () => {
    expect(connect({ kind: "context", context: "ctx" })).toBe("ok: ctx");
  });
});
