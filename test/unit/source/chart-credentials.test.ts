/**
 * The operator's chart repository credentials: the list parses with errors naming the place and line,
 * refuses inline secrets and credentials over plain HTTP, matches a URL to its longest prefix at a segment
 * boundary, and reads secrets from variables and files only when asked, never echoing a value.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ChartCredentialsError,
  type ChartCredentialsList,
  type ChartRepoCredentials,
  credentialsFor,
  loadChartCredentials,
  NO_CHART_CREDENTIALS,
  parseChartCredentials,
  resolveChartAuth,
} from "../../../src/source/chart-credentials.js";
import { runProcess } from "../../../src/tools/process.js";

const LIST = `repositories:
  - url: https://charts.example.com/platform/
    username: bosun
    passwordEnv: CHARTS_PASSWORD
  - url: https://charts.example.com/platform/team-a
    tokenEnv: TEAM_A_TOKEN
  - url: oci://registry.example.com:5000/charts
    usernameEnv: REGISTRY_USER
    passwordEnv: REGISTRY_PASSWORD
`;

function entryFor(list: ChartCredentialsList, url: string): ChartRepoCredentials {
  const entry = credentialsFor(list, url);
  if (!entry) throw new Error(`no entry for ${url}`);
  return entry;
}

function problem(text: string): string {
  try {
    parseChartCredentials(text, "creds.yaml");
  } catch (error) {
    expect(error).toBeInstanceOf(ChartCredentialsError);
    return (error as Error).message;
  }
  throw new Error("the list was accepted");
}

describe("parseChartCredentials", () => {
  it("reads entries, normalised and most specific first", () => {
    const list = parseChartCredentials(LIST, "creds.yaml");
    expect(list.repositories.map((e) => e.url)).toEqual([
      "https://charts.example.com/platform/team-a",
      "oci://registry.example.com:5000/charts",
      "https://charts.example.com/platform",
    ]);
    expect(list.repositories[2]).toMatchObject({ username: "bosun", password: { env: "CHARTS_PASSWORD" }, source: "creds.yaml:2" });
    expect(list.repositories[0]).toMatchObject({ token: { env: "TEAM_A_TOKEN" }, source: "creds.yaml:5" });
  });

  it("names the line and field of each mistake", () => {
    expect(problem("repositories:\n  - url: https://a.example\n    password: hunter2\n")).toBe(
      "creds.yaml:3: repositories[0].password: an inline secret is not accepted; name a variable (passwordEnv) or a file (passwordFile)",
    );
    expect(problem("repositories:\n  - url: http://a.example\n    username: u\n    passwordEnv: P\n")).toMatch(/^creds\.yaml:2: repositories\[0\]\.url: credentials are sent only over https/);
    expect(problem("repositories:\n  - url: https://a.example\n    username: u\n")).toBe("creds.yaml:3: repositories[0]: basic auth needs both a username and a password");
    expect(problem("repositories:\n  - url: https://a.example\n    tokenEnv: not-a-name\n")).toMatch(/^creds\.yaml:3: .*not an environment variable name/);
    expect(problem("repositories:\n  - url: https://a.example\n    certFile: /c.pem\n")).toBe("creds.yaml:3: repositories[0]: a client certificate needs both certFile and keyFile");
    expect(problem("repositories:\n  - url: https://u:p@a.example\n")).toMatch(/^creds\.yaml:2: .*without user info/);
    expect(problem("repos: []\n")).toBe("creds.yaml:1: unknown field repos (the list has only repositories)");
    expect(problem("repositories:\n  - url: https://a.example\n    colour: blue\n")).toBe("creds.yaml:3: repositories[0]: unknown field colour");
    expect(problem("repositories:\n  - url: https://a.example/x/\n  - url: https://a.example/x\n")).toBe("creds.yaml:3: https://a.example/x is listed twice (also at creds.yaml:2)");
    expect(problem("repositories: [\n")).toMatch(/^creds\.yaml:\d+: /);
  });

  it("never repeats a value it refuses", () => {
    expect(problem("repositories:\n  - url: https://a.example\n    token: s3cr3t-value\n")).not.toContain("s3cr3t-value");
  });
});

describe("credentialsFor", () => {
  const list = parseChartCredentials(LIST, "creds.yaml");
  it("gives the longest prefix a URL lies under, at a segment boundary", () => {
    expect(credentialsFor(list, "https://charts.example.com/platform/team-a/index.yaml")?.url).toBe("https://charts.example.com/platform/team-a");
    expect(credentialsFor(list, "https://charts.example.com/platform/index.yaml")?.url).toBe("https://charts.example.com/platform");
    expect(credentialsFor(list, "https://charts.example.com/platform-evil/index.yaml")).toBeUndefined();
    expect(credentialsFor(list, "https://charts.example.com.evil.net/platform/index.yaml")).toBeUndefined();
    expect(credentialsFor(list, "http://charts.example.com/platform/index.yaml")).toBeUndefined();
    expect(credentialsFor(list, "https://charts.example.com:8443/platform/index.yaml")).toBeUndefined();
    expect(credentialsFor(list, "oci://registry.example.com:5000/charts/nginx")?.url).toBe("oci://registry.example.com:5000/charts");
    expect(credentialsFor(list, "not a url")).toBeUndefined();
    expect(credentialsFor(NO_CHART_CREDENTIALS, "https://charts.example.com/platform")).toBeUndefined();
  });
});

describe("loading and resolving", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-chart-creds-"));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("reads the flag's file, else the file variable, else the inline variable, else nothing", async () => {
    const file = path.join(dir, "creds.yaml");
    await fs.writeFile(file, LIST);
    expect((loadChartCredentials(file, {})).repositories).toHaveLength(3);
    expect((loadChartCredentials(undefined, { BOSUN_CHART_CREDENTIALS_FILE: file })).repositories).toHaveLength(3);
    expect((loadChartCredentials(undefined, { BOSUN_CHART_CREDENTIALS: '{"repositories":[{"url":"https://a.example","tokenEnv":"T"}]}' })).repositories).toHaveLength(1);
    expect(loadChartCredentials(undefined, {})).toBe(NO_CHART_CREDENTIALS);
    expect(() => loadChartCredentials(path.join(dir, "absent.yaml"), {})).toThrow(/absent\.yaml: cannot read the chart credentials \(missing\)/);
    expect(() => loadChartCredentials(undefined, { BOSUN_CHART_CREDENTIALS: "repositories: 3" })).toThrow(/^BOSUN_CHART_CREDENTIALS:1: repositories must be a list/);
  });

  it("reads secrets from variables and files at the moment of use, naming what is missing but never a value", async () => {
    const passwordFile = path.join(dir, "password");
    await fs.writeFile(passwordFile, "from-a-file\n");
    const caFile = path.join(dir, "ca.pem");
    await fs.writeFile(caFile, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    const list = parseChartCredentials(
      `repositories:\n  - url: https://a.example\n    username: bosun\n    passwordFile: ${passwordFile}\n    caFile: ${caFile}\n  - url: https://b.example\n    tokenEnv: B_TOKEN\n`,
      "creds.yaml",
    );
    const a = await resolveChartAuth(entryFor(list, "https://a.example/index.yaml"), {});
    expect(a.basic).toEqual({ username: "bosun", password: "from-a-file" });
    expect(a.authorization).toBe(`Basic ${Buffer.from("bosun:from-a-file").toString("base64")}`);
    expect(a.ca).toContain("BEGIN CERTIFICATE");
    expect(a.secrets).toContain("from-a-file");
    const b = await resolveChartAuth(entryFor(list, "https://b.example/x"), { B_TOKEN: "tok-123" });
    expect(b.authorization).toBe("Bearer tok-123");
    const missing = resolveChartAuth(entryFor(list, "https://b.example/x"), {});
    await expect(missing).rejects.toThrow("chart credentials for https://b.example (creds.yaml:6): environment variable B_TOKEN (the token) is not set");
    await fs.rm(caFile);
    await expect(resolveChartAuth(entryFor(list, "https://a.example/index.yaml"), {})).rejects.toThrow(/cannot read the CA bundle PEM file .*ca\.pem \(missing\)/);
  });
});

describe("what the programs bosun runs see", () => {
  it("the variables the credentials name are withheld from every child process", async () => {
    process.env.BOSUN_TEST_CHART_PW = "child-must-not-see";
    try {
      loadChartCredentials(undefined, { BOSUN_CHART_CREDENTIALS: "repositories:\n  - url: https://charts.example.com\n    username: u\n    passwordEnv: BOSUN_TEST_CHART_PW\n" });
      const { stdout } = await runProcess({ tool: "node", file: process.execPath, args: ["-e", "process.stdout.write(String(process.env.BOSUN_TEST_CHART_PW))"], timeoutMs: 10_000, notFoundHint: "" });
      expect(stdout).toBe("undefined");
    } finally {
      delete process.env.BOSUN_TEST_CHART_PW;
    }
  });

  it("a username with a colon is refused: basic auth would shift it into the password", async () => {
    const list = parseChartCredentials("repositories:\n  - url: https://charts.example.com\n    username: 'a:b'\n    passwordEnv: PW\n", "creds.yaml");
    const entry = list.repositories[0];
    if (!entry) throw new Error("no entry");
    await expect(resolveChartAuth(entry, { PW: "x" })).rejects.toThrow('the username contains ":"');
  });
});
