/**
 * Hostile fleets that try to read the machine's environment by naming variables in the spec: a kubeconfig
 * "path" from BOSUN_GIT_TOKEN (whose error would quote it), a secret Helm value from a cloud credential,
 * and an allowed secret value that a chart re-encodes (base64 of base64, hex, URL-encoding) to slip past
 * scrubbing. Nothing may reach text, markdown or JSON output, and bosun writes nothing.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
/** A secret value with characters URL-encoding changes, which the harness's canaries lack. */
const URLY = `url canary/${randomBytes(8).toString("hex")}?&=+ x`;
const URL_FORMS = [encodeURIComponent(URLY), URLY.replace(/[^A-Za-z0-9._~-]/g, (c) => (c === " " ? "+" : `%${c.charCodeAt(0).toString(16).toUpperCase()}`))];
const repos: HostileRepo[] = [];

afterAll(async () => {
  await Promise.all(repos.map((r) => r.cleanup()));
});

/** A chart that copies its secret values into a ConfigMap in every encoding a template can produce. */
const LEAKY_CHART = {
  "addons/charts/leak/Chart.yaml": "apiVersion: v2\nname: leak\nversion: 0.1.0\n",
  "addons/charts/leak/templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: hostile-leak
  namespace: default
data:
  plain: {{ .Values.auth.token | quote }}
  b64: {{ .Values.auth.token | b64enc | quote }}
  b64b64: {{ .Values.auth.token | b64enc | b64enc | quote }}
  hex: {{ printf "%x" .Values.auth.token | quote }}
  config: {{ printf "password=%s\\n" .Values.auth.token | b64enc | quote }}
  url: {{ .Values.auth.other | urlquery | quote }}
  uri: {{ .Values.auth.other | urlquery | replace "+" "%20" | quote }}
`,
};

function leakyAddon(tokenEnv: string): string {
  return `  addons:
    - name: leak
      namespace: default
      helm:
        chart: addons/charts/leak
        secretValues:
          - { path: auth.token, env: ${tokenEnv} }
          - { path: auth.other, env: BOSUN_SECRET_URLY }
`;
}

async function repoWith(files: Record<string, string>): Promise<HostileRepo> {
  const repo = await hostileRepo(files);
  repos.push(repo);
  return repo;
}

const env = { BOSUN_SECRET_URLY: URLY };

function expectNoUrlForms(output: string): void {
  for (const form of URL_FORMS) expect(output.includes(form), `URL-encoded secret printed:\n${output}`).toBe(false);
}

describe("variables outside the operator's allow-list are never read", () => {
  it("kubeconfig.env naming BOSUN_GIT_TOKEN: refused at its file, line and field", async () => {
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml("a").replace("{ context: gamma }", "{ kubeconfig: { env: BOSUN_GIT_TOKEN } }") });
    for (const args of [["plan", "--fleet", repo.dir], ["plan", "--fleet", repo.dir, "-o", "markdown"], ["plan", "--fleet", repo.dir, "-o", "json"], ["validate", repo.dir]]) {
      const result = await runHostile(args, canaries, { env });
      const at = args.includes("json") ? /"file": "clusters\/a\.yaml",\s+"line": 7,/ : /clusters\/a\.yaml:7:\d+: environment variable BOSUN_GIT_TOKEN is not allowed/;
      await expectSafe(repo, canaries, result, {
        mentions: ["environment variable BOSUN_GIT_TOKEN is not allowed", "spec.connection.kubeconfig.env", at],
      });
    }
  });

  it("secretValues naming a cloud credential: refused at its file, line and field", async () => {
    const repo = await repoWith({ ...LEAKY_CHART, "clusters/a.yaml": clusterYaml("a", leakyAddon("AWS_SECRET_ACCESS_KEY")) });
    for (const args of [["plan", "--fleet", repo.dir, "-o", "json"], ["plan", "--fleet", repo.dir, "-o", "markdown"], ["validate", repo.dir]]) {
      const result = await runHostile(args, canaries, { env });
      const at = args.includes("json") ? /"file": "clusters\/a\.yaml",\s+"line": 17,/ : /clusters\/a\.yaml:17:\d+: environment variable AWS_SECRET_ACCESS_KEY is not allowed/;
      await expectSafe(repo, canaries, result, {
        mentions: [at, "environment variable AWS_SECRET_ACCESS_KEY is not allowed", "spec.addons[0].helm.secretValues[0].env", "BOSUN_SECRET_*"],
      });
    }
  });

  it("the operator can widen the list, and the Git token stays out of it", async () => {
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml("a").replace("{ context: gamma }", "{ kubeconfig: { env: BOSUN_GIT_TOKEN } }") });
    const result = await runHostile(["plan", "--fleet", repo.dir, "--allowed-secret-env", "BOSUN_*"], canaries, { env });
    await expectSafe(repo, canaries, result, { mentions: ["one of bosun's own credentials"] });
  });
});

describe("a value read from the environment is never quoted", () => {
  it("an allowed kubeconfig.env holding a non-path: the error names the variable, not its value", async () => {
    const repo = await repoWith({ "clusters/a.yaml": clusterYaml("a").replace("{ context: gamma }", "{ kubeconfig: { env: BOSUN_SECRET_CANARY } }") });
    for (const output of ["text", "markdown", "json"]) {
      const result = await runHostile(["plan", "--fleet", repo.dir, "-o", output], canaries, { env });
      // Markdown escapes the underscores.
      await expectSafe(repo, canaries, result, { mentions: [/\$BOSUN\\?_SECRET\\?_CANARY/, "no such file"] });
    }
  });

  it.each(["text", "markdown", "json"])("a chart re-encoding allowed secret values: every encoding scrubbed (-o %s)", async (output) => {
    const repo = await repoWith({ ...LEAKY_CHART, "clusters/a.yaml": clusterYaml("a", leakyAddon("BOSUN_SECRET_CANARY")) });
    const result = await runHostile(["plan", "--fleet", repo.dir, "-o", output], canaries, { env });
    // Text output summarises a new object; markdown and JSON show its lines, so the leaky ones must be there, scrubbed.
    const shown = output === "text" ? [] : ["b64b64", "(masked)"];
    await expectSafe(repo, canaries, result, { exitCodes: [0], mentions: ["hostile-leak", ...shown] });
    expectNoUrlForms(`${result.stdout}\n${result.stderr}`);
  });
});
