/**
 * Ordinary mistakes and hostile inputs that used to end as "bosun: internal error" with a stack trace:
 * each is now a clear error naming the file or flag, exit 1 (2 for usage), through the built CLI against
 * the shared sandbox, with nothing written to any cluster.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DEFAULT_YAML_LIMITS } from "../../src/bounded-yaml.js";
import { afterAll, beforeAll, describe, it } from "vitest";
import { sharedSandbox } from "../support/sandbox.js";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();

/** A Cluster whose connection is `connection` (YAML flow map text); no add-ons. */
function clusterWith(name: string, connection: string, spec = ""): string {
  return clusterYaml(name, spec).replace("connection: { context: gamma }", `connection: ${connection}`);
}

/** A local Helm chart directory: Chart.yaml (with `extra` appended) and one template. */
function chartFiles(dir: string, extra = ""): Record<string, string> {
  return {
    [`${dir}/Chart.yaml`]: `apiVersion: v2\nname: c\nversion: 1.0.0\n${extra}`,
    [`${dir}/templates/cm.yaml`]: "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\ndata: { a: b }\n",
  };
}

/** A YAML bomb: nine levels of nine aliases (387 420 489 leaves once expanded). */
function billionLaughs(): string {
  const levels = "abcdefghi".split("");
  const lines = [`${levels[0]}: &${levels[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i < levels.length; i++) {
    const prev = levels[i - 1] as string;
    lines.push(`${levels[i]}: &${levels[i]} [${Array.from({ length: 9 }, () => `*${prev}`).join(", ")}]`);
  }
  return `${lines.join("\n")}\n`;
}

describe("file flags: --out and --plan", () => {
  let repo: HostileRepo;
  beforeAll(async () => {
    repo = await hostileRepo({ "clusters/a.yaml": clusterYaml("a") });
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  it("plan --out into a directory that does not exist is a usage error naming --out, before anything is observed", async () => {
    const result = await runHostile(["plan", "--fleet", repo.dir, "--out", "/nonexistent/dir/p.json"], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: ['--out "/nonexistent/dir/p.json"', "/nonexistent/dir"] });
  });

  it("plan --out /dev/full is an error naming --out and the full device, exit 1", async () => {
    const result = await runHostile(["plan", "--fleet", repo.dir, "--out", "/dev/full"], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ['--out "/dev/full"', "no space left on device"] });
  });

  it("plan --out naming a directory is a usage error", async () => {
    const result = await runHostile(["plan", "--fleet", repo.dir, "--out", os.tmpdir()], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: ["--out", "is a directory"] });
  });

  it("apply --plan of a file that does not exist is a usage error naming --plan", async () => {
    const result = await runHostile(["apply", "--yes", "--plan", "/nonexistent.json"], canaries, { cwd: repo.dir });
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: ['--plan "/nonexistent.json"', "no such file"] });
  });

  it("apply --plan of a file that is not a plan is an error naming the file, exit 1", async () => {
    const file = path.join(repo.dir, "..", "not-a-plan.json");
    await fs.writeFile(file, "{ this is not json");
    const result = await runHostile(["apply", "--yes", "--plan", file], canaries, { cwd: repo.dir });
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [file, "not valid JSON"] });
  });
});

describe("hostile fleet content", () => {
  const repos: HostileRepo[] = [];
  afterAll(async () => {
    await Promise.all(repos.map((r) => r.cleanup()));
  });
  const repoWith = async (files: Record<string, string>): Promise<HostileRepo> => {
    const repo = await hostileRepo(files);
    repos.push(repo);
    return repo;
  };

  it.each(["validate", "plan"])("%s: a Chart.yaml with more aliases than the YAML limit is refused, naming the chart", async (command) => {
    const aliases = `anchor: &x v\nkeywords: [${Array.from({ length: DEFAULT_YAML_LIMITS.maxAliases + 1 }, () => "*x").join(", ")}]\n`;
    const repo = await repoWith({
      ...chartFiles("charts/c", aliases),
      "clusters/a.yaml": clusterYaml("a", "  addons:\n    - name: c\n      helm: { chart: charts/c }\n"),
    });
    const result = await runHostile(command === "validate" ? ["validate", repo.dir] : ["plan", "--fleet", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ["clusters/a.yaml", "charts/c", "Chart.yaml"] });
  });

  it.each(["validate", "plan"])("%s: a billion-laughs values file is refused, naming the file", async (command) => {
    const repo = await repoWith({
      ...chartFiles("charts/c"),
      "values/bomb.yaml": billionLaughs(),
      "clusters/a.yaml": clusterYaml("a", "  addons:\n    - name: c\n      helm: { chart: charts/c, valuesFiles: [values/bomb.yaml] }\n"),
    });
    const result = await runHostile(command === "validate" ? ["validate", repo.dir] : ["plan", "--fleet", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ["clusters/a.yaml", "values/bomb.yaml"] });
  });

  it.each(["constructor", "toString", "hasOwnProperty"])("plan: kubeconfig.env %s (an Object.prototype name) is refused, naming it", async (name) => {
    const repo = await repoWith({ "clusters/a.yaml": clusterWith("a", `{ kubeconfig: { env: ${name} } }`) });
    const result = await runHostile(["plan", "--fleet", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [name] });
  });

  it("plan: a kubeconfig context whose server is not a URL makes the cluster invalid, naming the context", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bad-kubeconfig-"));
    try {
      const bad = path.join(dir, "kubeconfig");
      await fs.writeFile(
        bad,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters: [{ name: bad, cluster: { server: \"not a url\" } }]",
          `users: [{ name: bad, user: { token: ${canaries.kubeToken} } }]`,
          "contexts: [{ name: not-a-url, context: { cluster: bad, user: bad } }]",
          "",
        ].join("\n"),
      );
      const repo = await repoWith({ "clusters/a.yaml": clusterYaml("a", "", "not-a-url"), "clusters/b.yaml": clusterYaml("b") });
      const result = await runHostile(["plan", "--fleet", repo.dir], canaries, { env: { KUBECONFIG: [sharedSandbox().kubeconfig, bad].join(path.delimiter) } });
      // The other cluster is still planned (gamma, in sync), the bad one is invalid with the reason.
      await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ['context "not-a-url"', /server .*not an https:\/\/ URL/, /^b\s+wave all\s+in-sync/m] });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
