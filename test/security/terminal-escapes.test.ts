/**
 * Terminal escapes from repository content are never printed raw: a cluster name, a zone, a context, a
 * file name or a flag value carrying `ESC ] 0;…` (retitle), `ESC [ 2J` (clear) or the C1 CSI U+009B is
 * shown as visible `\xHH` in every output — validate's text and JSON, plan's text, markdown and JSON,
 * apply's progress lines, every error message, commander's own refusals and the sandbox's errors.
 */
import { afterAll, describe, expect, it } from "vitest";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo, type HostileResult } from "./support.js";

const canaries = makeCanaries();

const OSC = "\u001b]0;owned\u0007";
const CSI = "\u001b[2J";
const C1 = "\u009b31m";
/** What each payload must look like when printed. */
const SHOWN = { [OSC]: "\\x1b]0;owned\\x07", [CSI]: "\\x1b[2J", [C1]: "\\x9b31m" };

/** No escape, bell or C1 control byte anywhere in what the run printed. */
function expectNoControls(result: HostileResult): void {
  const output = `${result.stdout}\n${result.stderr}`;
  for (const byte of ["\u001b", "\u0007", "\u009b"]) {
    expect(output.includes(byte), `raw ${JSON.stringify(byte)} printed:\n${JSON.stringify(output)}`).toBe(false);
  }
}

/** A YAML double-quoted scalar holding `text` (escapes written as YAML escapes). */
function quoted(text: string): string {
  return JSON.stringify(text);
}

const repos: HostileRepo[] = [];
afterAll(async () => {
  await Promise.all(repos.map((r) => r.cleanup()));
});
async function repoWith(files: Record<string, string>): Promise<HostileRepo> {
  const repo = await hostileRepo(files);
  repos.push(repo);
  return repo;
}

describe("validate", () => {
  it("escapes a hostile cluster name quoted by the schema error", async () => {
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml(quoted(`a${OSC}${C1}`)) });
    const result = await runHostile(["validate", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [`a${SHOWN[OSC]}${SHOWN[C1]}`, "clusters/a.yaml", "metadata.name"] });
    expectNoControls(result);
  });

  it("escapes hostile zones in the summary of a valid fleet", async () => {
    const zones = `      zones: [${quoted(`z${OSC}`)}, ${quoted(`y${CSI}${C1}`)}]\n`;
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml("a").replace("controlPlane: { replicas: 1 }\n", `controlPlane:\n      replicas: 1\n${zones}`) });
    const result = await runHostile(["validate", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [0], mentions: [`z${SHOWN[OSC]}`, `y${SHOWN[CSI]}${SHOWN[C1]}`] });
    expectNoControls(result);
  });

  it("escapes a hostile file name", async () => {
    const repo = await repoWith({ [`clusters/x${OSC}.yaml`]: "apiVersion: bosun.dev/v1alpha1\nkind: Cluster\nmetadata: { name: x }\nspec: { bogus: 1 }\n" });
    const result = await runHostile(["validate", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [`clusters/x${SHOWN[OSC]}.yaml`] });
    expectNoControls(result);
  });

  it("-o json keeps the value (as \\u escapes) and prints no C1 control raw", async () => {
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml(quoted(`a${OSC}${C1}`)) });
    const result = await runHostile(["validate", repo.dir, "-o", "json"], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ["\\u001b]0;owned\\u0007", "\\u009b31m"] });
    expectNoControls(result);
    const body = JSON.parse(result.stdout) as { errors: { message: string }[] };
    expect(body.errors.some((e) => e.message.includes(`a${OSC}${C1}`))).toBe(true);
  });
});

describe("plan and apply", () => {
  // A context name is any string in the schema; the cluster is invalid and its reason quotes the name.
  const hostileContext = `ctx${OSC}${CSI}${C1}`;
  const contextCluster = (): string => clusterYaml("a").replace("connection: { context: gamma }", `connection: { context: ${quoted(hostileContext)} }`);
  const shownContext = `ctx${SHOWN[OSC]}${SHOWN[CSI]}${SHOWN[C1]}`;

  it.each(["text", "markdown"])("plan -o %s escapes a hostile reason", async (format) => {
    const repo = await repoWith({ "clusters/a.yaml": contextCluster() });
    const result = await runHostile(["plan", "--fleet", repo.dir, "-o", format], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [/invalid/] });
    // Markdown also backslash-escapes what could start a link or emphasis; the text plan shows it as is.
    if (format === "text") expect(result.stdout).toContain(shownContext);
    else expect(result.stdout).toMatch(/ctx\\+x1b\\*\]0;owned\\+x07\\+x1b\\*\[2J\\+x9b31m/);
    expectNoControls(result);
  });

  it("plan -o json keeps the reason as \\u escapes and prints no C1 control raw", async () => {
    const repo = await repoWith({ "clusters/a.yaml": contextCluster() });
    const result = await runHostile(["plan", "--fleet", repo.dir, "-o", "json"], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ["\\u009b31m"] });
    expectNoControls(result);
    const plan = JSON.parse(result.stdout) as { clusters: { reason?: string }[] };
    expect(plan.clusters[0]?.reason).toContain(hostileContext);
  });

  it("apply escapes its progress lines (stderr) and its plan", async () => {
    const repo = await repoWith({ "clusters/a.yaml": contextCluster() });
    const result = await runHostile(["apply", "--yes", "--fleet", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ["nothing to apply"] });
    expect(result.stderr).toContain(shownContext);
    expectNoControls(result);
  });
});

describe("errors", () => {
  it("a usage error quoting a hostile --cluster is escaped", async () => {
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml("a") });
    const result = await runHostile(["plan", "--fleet", repo.dir, "--cluster", `x${OSC}`], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: [`--cluster x${SHOWN[OSC]}: not in fleet`] });
    expectNoControls(result);
  });

  it("commander's own refusal of a hostile option is escaped", async () => {
    const repo = await repoWith({});
    const result = await runHostile(["plan", `--x${OSC}`], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: [`unknown option '--x${SHOWN[OSC]}'`] });
    expectNoControls(result);
  });

  it("a hostile --ref is escaped (and refused as a usage error)", async () => {
    const repo = await repoWith({});
    const result = await runHostile(["plan", "--repo", "https://git.invalid/fleet.git", "--ref", `main${OSC}`], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [2], mentions: ["--ref", "contains control characters"] });
    expectNoControls(result);
  });

  it("the sandbox's errors about a hostile sandbox.yaml are escaped, and nothing starts", async () => {
    const repo = await repoWith({
      "sandbox.yaml": `apiVersion: bosun.dev/v1alpha1\nkind: Sandbox\nclusters:\n  - name: ${quoted(`s${OSC}${C1}`)}\n    kubernetesVersion: "1.35.4"\n    nodes: [{ name: n, role: control-plane }]\n`,
    });
    const result = await runHostile(["sandbox", "up", "--from", repo.dir, "--root", `${repo.markerDir}/../sandboxes`], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: ["sandbox.yaml", `s${SHOWN[OSC]}${SHOWN[C1]}`] });
    expectNoControls(result);
  });
});
