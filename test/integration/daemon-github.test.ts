/**
 * The GitHub pull-request bot of `bosun run`, end to end: the daemon (in this process) follows `main` of
 * the fixture fleet test/fixtures/fleets/daemon, served by a real `git http-backend` behind basic auth
 * (the Git token is a canary), and answers `POST /hooks/github` on its real HTTP server. GitHub is the
 * stand-in of test/support/github-server.ts — every request checked against GitHub's OpenAPI description
 * — and bosun authenticates as a GitHub App (JWT → installation token). Every webhook is one of GitHub's
 * published examples, re-signed. Heads are pushed to `refs/pull/N/head`, as GitHub keeps them.
 *
 * Proves: a version bump gets one comment with the ladder and one status per cluster plus `bosun/plan`; a
 * second push updates the same comment; a fork waits for `/bosun plan`, which a non-collaborator cannot
 * give (refused with a reaction) and a writer can; a hostile head (a post-renderer, an exec function, a
 * chart from a repository the base does not allow, a 50 MB values file) gets each refusal with its file
 * and line; a base that moves without changing a plan sends nothing, a drift re-plans and updates; no
 * pull-request plan wrote to a cluster (audit logs); and no canary — a Kustomize Secret's value, a Helm
 * secretValues value, the Git token, the kubeconfig's token — reached a comment, a status, an alert, a log
 * line, the metrics or the status page.
 */
import fs from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { DaemonMetrics } from "../../src/daemon/metrics.js";
import { planCommentMarker } from "../../src/scm/comment.js";
import { GitHubHost } from "../../src/scm/github-host.js";
import { auditMark, bosunWrites, type AuditEvent } from "../support/audit.js";
import { testDaemon, testHttpServer } from "../support/daemon.js";
import type { HttpServer } from "../../src/daemon/http.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { startGitHubServer, testAppKeys, type GitHubServer } from "../support/github-server.js";
import { signedWebhook, type SignedWebhook } from "../support/github-webhooks.js";
import { deleteNamespaces, eventually, forgetAddons, sandboxCluster, sharedSandbox } from "../support/sandbox.js";
import { encodings, makeCanaries } from "../security/support.js";

const FIXTURE = path.resolve(import.meta.dirname, "../fixtures/fleets/daemon");
const NAMESPACE = "dmn-settings";
const SECRET = "github-webhook-secret-for-tests";
const APP_ID = 424242;
const INSTALLATION = 77;
const OWNER = "acme";
const REPO = "fleet";
const canaries = makeCanaries();
const alpha = sandboxCluster("alpha");
const gamma = sandboxCluster("gamma");

let work: string;
let git: GitServer;
let github: GitHubServer;
let daemon: Daemon;
const metrics = new DaemonMetrics({ defaultMetrics: false });
let server: HttpServer;
let alerts: http.Server;
const alertBodies: string[] = [];
let logs: string[] = [];
let kubeToken = "";
/** The audit logs of both clusters from the end of the first reconcile on: every PR plan is in it. */
let audit: (() => Promise<AuditEvent[]>)[] = [];

async function deliver(hook: SignedWebhook): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/hooks/github`, { method: "POST", headers: hook.headers, body: hook.body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A published `pull_request` example made into #number of acme/fleet, head `sha`, from `headRepo`. */
function pullRequestHook(action: string, number: number, sha: string, headRepo = `${OWNER}/${REPO}`): SignedWebhook {
  return signedWebhook("pull_request", action, SECRET, {
    change: (payload) => {
      const pull = payload.pull_request as Record<string, Record<string, unknown>>;
      payload.number = number;
      (pull as Record<string, unknown>).number = number;
      pull.head = { ...pull.head, sha, repo: { ...(pull.head?.repo as object), full_name: headRepo } };
      pull.base = { ...pull.base, ref: "main", repo: { ...(pull.base?.repo as object), full_name: `${OWNER}/${REPO}` } };
      payload.repository = { ...(payload.repository as object), full_name: `${OWNER}/${REPO}` };
      return payload;
    },
  });
}

/** A published `issue_comment.created` example made into a comment by `login` on pull request #number. */
function commentHook(number: number, login: string, body: string, id: number): SignedWebhook {
  return signedWebhook("issue_comment", "created", SECRET, {
    change: (payload) => {
      const issue = payload.issue as Record<string, unknown>;
      issue.number = number;
      issue.pull_request = { url: `https://api.github.com/repos/${OWNER}/${REPO}/pulls/${String(number)}` };
      payload.comment = { ...(payload.comment as object), id, body, user: { ...((payload.comment as Record<string, unknown>).user as object), login } };
      payload.repository = { ...(payload.repository as object), full_name: `${OWNER}/${REPO}` };
      return payload;
    },
  });
}

function ourComments(number: number): { id: number; body: string }[] {
  return github.comments.filter((c) => c.issue === number && c.body.startsWith(planCommentMarker("daemon-test")));
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  await daemon.idle();
}

async function pushHead(number: number, message: string, edit: (dir: string) => Promise<void>, from = "main"): Promise<string> {
  return git.push("fleet", message, edit, { from, to: `refs/pull/${String(number)}/head` });
}

async function bumpAlpha(dir: string): Promise<void> {
  const file = path.join(dir, "clusters", "alpha.yaml");
  await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace('version: "1.34.4"', 'version: "1.35.4"'));
}

/** A Kustomize Secret and a local Helm chart fed a secretValues value: both canaries, both must be masked. */
async function addSecrets(dir: string): Promise<void> {
  await fs.writeFile(path.join(dir, "addons", "settings", "secret.yaml"), `apiVersion: v1\nkind: Secret\nmetadata:\n  name: dmn-token\n  namespace: ${NAMESPACE}\nstringData:\n  token: ${canaries.gitToken}-in-a-secret\n`);
  const kustomization = path.join(dir, "addons", "settings", "kustomization.yaml");
  await fs.writeFile(kustomization, `${await fs.readFile(kustomization, "utf8")}  - secret.yaml\n`);
  await fs.mkdir(path.join(dir, "charts", "creds", "templates"), { recursive: true });
  await fs.writeFile(path.join(dir, "charts", "creds", "Chart.yaml"), "apiVersion: v2\nname: creds\nversion: 0.1.0\n");
  await fs.writeFile(path.join(dir, "charts", "creds", "values.yaml"), "password: unset\n");
  await fs.writeFile(path.join(dir, "charts", "creds", "templates", "secret.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dmn-creds\nstringData:\n  password: {{ .Values.password | quote }}\n");
  const cluster = path.join(dir, "clusters", "alpha.yaml");
  await fs.writeFile(cluster, `${await fs.readFile(cluster, "utf8")}  addons:\n    - name: dmn-creds\n      namespace: ${NAMESPACE}\n      helm:\n        chart: charts/creds\n        secretValues:\n          - { path: password, env: BOSUN_SECRET_DB_PASSWORD }\n`);
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-daemon-github-"));
  await deleteNamespaces(alpha.core, [NAMESPACE]);
  await deleteNamespaces(gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings", "dmn-creds"]);
  const kubeconfig = parse(await fs.readFile(sharedSandbox().kubeconfig, "utf8")) as { users: { user: { token?: string } }[] };
  kubeToken = kubeconfig.users.map((u) => u.user.token ?? "").find((t) => t !== "") ?? "";
  expect(kubeToken, "the sandbox kubeconfig has a token to look for").not.toBe("");

  alerts = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      alertBodies.push(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => alerts.listen(0, "127.0.0.1", resolve));
  const alertUrl = `http://127.0.0.1:${String((alerts.address() as AddressInfo).port)}/alerts`;

  // The base: the fixture, charts only from one repository, drift alerts to a webhook.
  const fleet = path.join(work, "fleet");
  await fs.cp(FIXTURE, fleet, { recursive: true });
  await fs.appendFile(
    path.join(fleet, "fleet.yaml"),
    "  chartRepositories: [https://charts.example.com/stable]\n  alerting:\n    receivers:\n      - name: hook\n        type: webhook\n        urlFromEnv: BOSUN_SECRET_ALERT_URL\n        events: [drift, drift-resolved]\n",
  );
  git = await startGitServer({ auth: { username: "x-access-token", password: canaries.gitToken } });
  const url = await git.serveFixture(fleet, "fleet");
  const keys = testAppKeys();
  github = await startGitHubServer({ owner: OWNER, repo: REPO, token: "unused-token", app: { id: APP_ID, publicKeyPem: keys.publicKeyPem, installationId: INSTALLATION }, latencyMs: 20 });
  github.seedPermission("maintainer-mia", "write");
  const built = testDaemon({
    work,
    source: { repo: url, ref: "main" },
    metrics,
    env: { BOSUN_GIT_TOKEN: canaries.gitToken, BOSUN_SECRET_DB_PASSWORD: canaries.secretEnv, BOSUN_SECRET_ALERT_URL: alertUrl },
    publicUrl: () => "http://bosun.example.internal",
    reviews: [new GitHubHost({ repo: { owner: OWNER, repo: REPO }, apiUrl: github.url, auth: { kind: "app", appId: APP_ID, privateKey: keys.privateKeyPem, installationId: INSTALLATION } })],
  });
  daemon = built.daemon;
  logs = built.logs;
  server = await testHttpServer(daemon, { hooks: { github: SECRET }, reviews: { github: `${OWNER}/${REPO}` }, metrics });
  await daemon.start();
  await settle();
  // alpha converged at main (its add-on applied); gamma's wave is manual. From here on, only plans run.
  expect(daemon.status().clusters.find((c) => c.name === "alpha")?.phase).toBe("in-sync");
  audit = await Promise.all(["alpha", "gamma"].map((c) => auditMark(c)));
}, 900_000);

afterAll(async () => {
  await daemon.stop(10_000);
  await server.close();
  await github.close();
  await git.close();
  await new Promise((resolve) => alerts.close(resolve));
  await deleteNamespaces(alpha.core, [NAMESPACE]);
  await deleteNamespaces(gamma.core, [NAMESPACE]);
  for (const cluster of ["alpha", "gamma"]) await forgetAddons(cluster, ["dmn-settings", "dmn-creds"]);
  await fs.rm(work, { recursive: true, force: true });
});

afterEach(() => {
  expect(github.violations.splice(0), "a request that breaks GitHub's published API description").toEqual([]);
});

describe("the GitHub pull-request bot", () => {
  let head7 = "";

  it("posts one comment with the ladder and one status per cluster for a version bump, as a GitHub App", async () => {
    head7 = await pushHead(7, "alpha to 1.35.4, with secrets", async (dir) => {
      await bumpAlpha(dir);
      await addSecrets(dir);
    });
    github.seedPull(7, head7);
    const started = Date.now();
    const answer = await deliver(pullRequestHook("opened", 7, head7));
    expect(answer).toEqual({ status: 202, body: { accepted: "opened: planning" } });
    await eventually("the plan comment on #7", () => Promise.resolve(ourComments(7).length > 0 ? true : undefined), 120_000);
    const seconds = (Date.now() - started) / 1000;
    await settle();
    console.log(`webhook → comment on the pull request: ${seconds.toFixed(2)} s`);

    const comments = ourComments(7);
    expect(comments).toHaveLength(1);
    const body = comments[0]?.body ?? "";
    expect(body).toContain("1.34.4");
    expect(body).toContain("1.35.4");
    expect(body).toMatch(/controlPlane\.upgrade|control plane/i);
    const statuses = github.statuses.filter((s) => s.sha === head7);
    expect(statuses.map((s) => s.context).sort()).toEqual(["bosun/alpha", "bosun/gamma", "bosun/plan"]);
    expect(statuses.find((s) => s.context === "bosun/alpha")).toMatchObject({ state: "success", target_url: "http://bosun.example.internal/" });
    expect(statuses.find((s) => s.context === "bosun/alpha")?.description).toMatch(/^changes: \d+ steps?/);
    expect(github.installationTokens.length, "authenticated as the App's installation").toBeGreaterThan(0);
    expect(github.requests.filter((r) => r.operationId !== "apps/create-installation-access-token").every((r) => github.installationTokens.some((t) => r.authorization === `token ${t}`))).toBe(true);
  });

  it("updates the same comment on a second push", async () => {
    const before = ourComments(7)[0]?.body;
    const head = await pushHead(7, "and a new setting", async (dir) => {
      const file = path.join(dir, "addons", "settings", "configmap.yaml");
      await fs.writeFile(file, (await fs.readFile(file, "utf8")).replace('level: "1"', 'level: "2"'));
    }, `refs/pull/7/head`);
    github.setPullHead(7, head);
    expect((await deliver(pullRequestHook("synchronize", 7, head))).status).toBe(202);
    await settle();
    const comments = ourComments(7);
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).not.toBe(before);
    expect(comments[0]?.body).toContain("level");
    expect(github.statuses.filter((s) => s.sha === head).map((s) => s.context).sort()).toEqual(["bosun/alpha", "bosun/gamma", "bosun/plan"]);
    head7 = head;
  });

  it("plans a fork only after /bosun plan from a user with write access; a non-collaborator is refused", async () => {
    const head = await pushHead(8, "a fork's change", bumpAlpha);
    github.seedPull(8, head, { headRepo: "stranger/fleet" });
    const opened = await deliver(pullRequestHook("opened", 8, head, "stranger/fleet"));
    expect(opened.body).toEqual({ accepted: "from a fork: waiting for /bosun plan from a user with write access" });
    await settle();
    expect(github.statuses.filter((s) => s.sha === head)).toEqual([]);
    expect(ourComments(8)[0]?.body).toContain("waiting for a maintainer");

    const stranger = github.seedComment(8, "/bosun plan", "stranger");
    const refused = await deliver(commentHook(8, "stranger", "/bosun plan", stranger.id));
    expect(refused.body).toEqual({ ignored: "the author has no write access" });
    await settle();
    expect(github.reactions).toContainEqual(expect.objectContaining({ commentId: stranger.id, content: "-1" }));
    expect(github.statuses.filter((s) => s.sha === head)).toEqual([]);

    const mia = github.seedComment(8, "/bosun plan", "maintainer-mia");
    const accepted = await deliver(commentHook(8, "maintainer-mia", "/bosun plan", mia.id));
    expect(accepted.body).toEqual({ accepted: "planning" });
    await settle();
    expect(github.statuses.filter((s) => s.sha === head).map((s) => s.context).sort()).toEqual(["bosun/alpha", "bosun/gamma", "bosun/plan"]);
    expect(ourComments(8)).toHaveLength(1);
    expect(ourComments(8)[0]?.body).toContain("1.35.4");
  });

  it("refuses a hostile head's post-renderer, exec function, foreign chart repository and 50 MB file, each with its file and line", async () => {
    const marker = path.join(work, "marker");
    await fs.mkdir(marker);
    const head = await pushHead(9, "hostile", async (dir) => {
      await fs.mkdir(path.join(dir, "addons", "evil"), { recursive: true });
      await fs.writeFile(path.join(dir, "addons", "evil", "kustomization.yaml"), "resources: [cm.yaml]\ntransformers:\n  - exec.yaml\n");
      await fs.writeFile(path.join(dir, "addons", "evil", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: evil }\n");
      await fs.writeFile(path.join(dir, "addons", "evil", "exec.yaml"), `apiVersion: example.com/v1\nkind: Evil\nmetadata:\n  name: evil\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /usr/bin/touch\n        args: [${marker}/exec]\n`);
      await fs.writeFile(path.join(dir, "big-values.yaml"), `padding: "${"x".repeat(50 * 1024 * 1024)}"\n`);
      // The post-renderer in its own cluster file: a document the schema refuses is not checked further.
      const other = path.join(dir, "clusters", "gamma.yaml");
      await fs.writeFile(other, `${await fs.readFile(other, "utf8")}  addons:\n    - name: post\n      helm:\n        chart: charts/none\n        postRenderer: { exec: /bin/sh, args: [-c, 'touch ${marker}/post'] }\n`);
      const cluster = path.join(dir, "clusters", "alpha.yaml");
      await fs.writeFile(
        cluster,
        `${await fs.readFile(cluster, "utf8")}  addons:\n` +
          "    - name: evil\n      kustomize: { path: addons/evil }\n" +
          "    - name: foreign\n      helm: { repo: https://charts.elsewhere.example/stable, chart: x, version: 1.0.0 }\n" +
          "    - name: big\n      helm: { repo: https://charts.example.com/stable, chart: y, version: 1.0.0, valuesFiles: [big-values.yaml] }\n",
      );
    });
    github.seedPull(9, head);
    await deliver(pullRequestHook("opened", 9, head));
    await settle();
    const body = ourComments(9)[0]?.body ?? "";
    expect(body).toContain("does not load");
    expect(body).toMatch(/clusters\/gamma\.yaml:\d+:\d+: .*postRenderer/);
    expect(body).toMatch(/addons\/evil\/kustomization\.yaml:2:\d+: .*plugins and KRM functions/);
    expect(body).toMatch(/clusters\/alpha\.yaml:\d+:\d+: .*charts\.elsewhere\.example.*spec\.chartRepositories/);
    expect(body).toMatch(/big-values\.yaml.*(MiB|bytes|too large|larger)/);
    const overall = github.statuses.filter((s) => s.sha === head);
    expect(overall.map((s) => `${s.context} ${s.state}`)).toEqual(["bosun/plan failure"]);
    expect(overall[0]?.description).toMatch(/^invalid: \d+ spec errors/);
    expect(await fs.readdir(marker), "a payload ran").toEqual([]);
  });

  it("sends nothing when the base moves without changing a plan, and updates the plans when a cluster drifts", async () => {
    let mark = github.requests.length;
    await git.push("fleet", "a comment on main", async (dir) => {
      await fs.appendFile(path.join(dir, "clusters", "gamma.yaml"), "# reviewed\n");
    });
    daemon.trigger("test: base moved");
    await settle();
    const writes = (m: number): string[] => github.requests.slice(m).filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.operationId ?? r.path}`);
    expect(writes(mark), "a base move that changes no plan sends nothing").toEqual([]);

    mark = github.requests.length;
    const before = ourComments(7)[0]?.body ?? "";
    await alpha.core.patchNamespacedConfigMap({ name: "dmn-settings", namespace: NAMESPACE, body: [{ op: "replace", path: "/data/level", value: "edited-by-hand" }] });
    daemon.checkDrift("test");
    await settle();
    const after = ourComments(7)[0]?.body ?? "";
    expect(after).not.toBe(before);
    expect(after).toContain("edited-by-hand");
    expect(writes(mark)).toContain("PATCH issues/update-comment");
    await alpha.core.patchNamespacedConfigMap({ name: "dmn-settings", namespace: NAMESPACE, body: [{ op: "replace", path: "/data/level", value: "1" }] });
    daemon.checkDrift("test");
    await settle();
  });

  it("wrote to no cluster: every request bosun sent since the first reconcile is a read or a dry-run", async () => {
    const events = (await Promise.all(audit.map((read) => read()))).flat();
    expect(bosunWrites(events).map((e) => `${e.verb} ${e.requestURI}`)).toEqual([]);
  });

  it("lets no canary reach a comment, a status, an alert, a log line, the metrics or the status page", async () => {
    const page = await (await fetch(`${server.url}/`)).text();
    const cluster = await (await fetch(`${server.url}/clusters/alpha`)).text();
    const plan = await (await fetch(`${server.url}/api/v1/clusters/alpha/plan`)).text();
    const sinks: Record<string, string> = {
      comments: github.comments.map((c) => c.body).join("\n"),
      statuses: JSON.stringify(github.statuses),
      alerts: alertBodies.join("\n"),
      logs: logs.join(""),
      "status page": `${page}\n${cluster}\n${plan}`,
      metrics: (await metrics.expose()).body,
    };
    expect(alertBodies.length, "the drift alert was sent").toBeGreaterThan(0);
    for (const secret of [...canaries.all, `${canaries.gitToken}-in-a-secret`, kubeToken]) {
      for (const [name, text] of Object.entries(sinks)) {
        expect(text.includes(secret), `${name} carry a canary`).toBe(false);
        for (const variant of encodings(secret)) expect(text.includes(variant), `${name} carry an encoded canary`).toBe(false);
      }
    }
  });
});
