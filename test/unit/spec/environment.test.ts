/**
 * What a spec may name on the machine running bosun (src/spec/environment.ts): environment variables only
 * from the operator's allow-list, kubeconfig paths only absolute — each refusal at the file, line and
 * field that names it.
 */
import fs from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_ALLOWED_ENV, envNameAllowed, parseEnvPatterns } from "../../../src/spec/environment.js";
import { formatIssue } from "../../../src/spec/issues.js";
import { DEFAULT_REPO_POLICY } from "../../../src/spec/repo-policy.js";
import { loadFleet } from "../../../src/spec/load.js";
import { fleetBuilder, lineOf, type FleetBuilder } from "./builder.js";

const FLEET = "fleet.yaml";
const PROD = "clusters/prod.yaml";
const written: string[] = [];

afterAll(async () => {
  await Promise.all(written.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function load(builder: FleetBuilder, allowedEnv?: readonly string[]): Promise<Awaited<ReturnType<typeof loadFleet>>> {
  const dir = await builder.write();
  written.push(dir);
  return loadFleet(dir, allowedEnv === undefined ? {} : { policy: { ...DEFAULT_REPO_POLICY, allowedSecretEnv: allowedEnv } });
}

describe("envNameAllowed", () => {
  it.each([
    ["BOSUN_SECRET_DB_PASSWORD", DEFAULT_ALLOWED_ENV, true],
    ["BOSUN_SECRET_", DEFAULT_ALLOWED_ENV, true],
    ["AWS_SECRET_ACCESS_KEY", DEFAULT_ALLOWED_ENV, false],
    ["bosun_secret_x", DEFAULT_ALLOWED_ENV, false],
    ["XBOSUN_SECRET_Y", DEFAULT_ALLOWED_ENV, false],
    ["CI_KUBECONFIG_PROD", ["BOSUN_SECRET_*", "CI_KUBECONFIG_*"], true],
    ["PROD_TOKEN", ["*_TOKEN"], true],
    ["BOSUN_GIT_TOKEN", ["*"], false],
    ["BOSUN_GIT_PASSWORD", ["BOSUN_*"], false],
    ["BOSUN_ALLOWED_SECRET_ENV", ["*"], false],
    ["BOSUN_ALLOWED_CHART_REPOS", ["BOSUN_*"], false],
    ["BOSUN_ALLOW_EXEC_PLUGINS", ["*"], false],
    ["BOSUN_SECRET_ANYTHING", ["BOSUN_*"], true],
    ["ANYTHING", [], false],
  ] as const)("%s under %j: %s", (name, patterns, allowed) => {
    expect(envNameAllowed(name, patterns)).toBe(allowed);
  });
});

describe("parseEnvPatterns", () => {
  it("reads a comma-separated list, spaces and empty entries ignored", () => {
    expect(parseEnvPatterns(" BOSUN_SECRET_*, CI_*,,", "--allowed-secret-env")).toEqual({ patterns: ["BOSUN_SECRET_*", "CI_*"] });
    expect(parseEnvPatterns("", "--allowed-secret-env")).toEqual({ patterns: [] });
  });

  it("refuses anything but names and *, naming where it came from", () => {
    expect(parseEnvPatterns("BOSUN_.*", "BOSUN_ALLOWED_SECRET_ENV")).toEqual({
      problem: 'BOSUN_ALLOWED_SECRET_ENV: "BOSUN_.*" is not a variable-name pattern (letters, digits, _ and * only)',
    });
  });
});

describe("spec fields naming variables and kubeconfig files", () => {
  const cases: { name: string; mutate: (b: FleetBuilder) => FleetBuilder; file: string; needle: string; field: string; message: string }[] = [
    {
      name: "kubeconfig.env naming the Git token",
      mutate: (b) => b.set(PROD, ["spec", "connection"], { kubeconfig: { env: "BOSUN_GIT_TOKEN" } }),
      file: PROD,
      needle: "env: BOSUN_GIT_TOKEN",
      field: "spec.connection.kubeconfig.env",
      message: "environment variable BOSUN_GIT_TOKEN is not allowed: BOSUN_GIT_TOKEN is one of bosun's own credentials",
    },
    {
      name: "secretValues naming a cloud credential",
      mutate: (b) => b.set(PROD, ["spec", "addons", 0, "helm", "secretValues"], [{ path: "auth.token", env: "AWS_SECRET_ACCESS_KEY" }]),
      file: PROD,
      needle: "env: AWS_SECRET_ACCESS_KEY",
      field: "spec.addons[0].helm.secretValues[0].env",
      message: "environment variable AWS_SECRET_ACCESS_KEY is not allowed: a spec may name only variables matching BOSUN_SECRET_*",
    },
    {
      name: "secretValues in the fleet's defaults",
      mutate: (b) => b.set(FLEET, ["spec", "defaults", "addons", 0, "helm", "secretValues"], [{ path: "a", env: "HOME" }]),
      file: FLEET,
      needle: "env: HOME",
      field: "spec.defaults.addons[0].helm.secretValues[0].env",
      message: "environment variable HOME is not allowed",
    },
    {
      name: "a webhook URL from any variable",
      mutate: (b) => b.set(FLEET, ["spec", "alerting"], { webhooks: [{ name: "w", urlFromEnv: "GITHUB_TOKEN" }] }),
      file: FLEET,
      needle: "urlFromEnv: GITHUB_TOKEN",
      field: "spec.alerting.webhooks[0].urlFromEnv",
      message: "environment variable GITHUB_TOKEN is not allowed",
    },
    {
      name: "a relative kubeconfig path",
      mutate: (b) => b.set(PROD, ["spec", "connection"], { kubeconfig: { path: "kc.yaml" } }),
      file: PROD,
      needle: "path: kc.yaml",
      field: "spec.connection.kubeconfig.path",
      message: 'kubeconfig path "kc.yaml" must be absolute (or start with ~/)',
    },
  ];

  it.each(cases)("refuses $name at its file, line and field", async ({ mutate, file, needle, field, message }) => {
    const builder = mutate(fleetBuilder());
    const line = lineOf(builder.render().get(file) ?? "", needle);
    const result = await load(builder);
    const errors = result.ok ? [] : result.errors;
    const match = errors.find((e) => e.file === file && e.line === line && e.path === field && e.message.includes(message));
    expect(match, `expected ${file}:${line} (at ${field}): …${message}… among:\n${errors.map(formatIssue).join("\n")}`).toBeDefined();
  });

  it("accepts variables that match the operator's patterns, and absolute or home kubeconfig paths", async () => {
    const builder = fleetBuilder()
      .set(PROD, ["spec", "connection"], { kubeconfig: { env: "CI_KUBECONFIG_PROD" } })
      .set(PROD, ["spec", "addons", 0, "helm", "secretValues"], [{ path: "auth.token", env: "BOSUN_SECRET_WEB_TOKEN" }])
      .set("clusters/canary.yaml", ["spec", "connection"], { kubeconfig: { path: "~/.kube/canary" } });
    const result = await load(builder, ["BOSUN_SECRET_*", "CI_KUBECONFIG_*"]);
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([]);
    const refused = await load(builder);
    expect(refused.ok ? [] : refused.errors.map((e) => e.path)).toEqual(["spec.connection.kubeconfig.env"]);
  });
});
