/**
 * The pull request a fleet-example user opens first — production to the fleet's Kubernetes version and a
 * new echo message — planned by `bosun run`'s GitHub bot against fleet-example's own sandbox (lite mode:
 * four fleet clusters and the Cluster API management cluster). GitHub is the OpenAPI-checked stand-in,
 * each answer delayed by 100 ms like a real round trip; the base has `rollout.paused: true`, so the
 * daemon plans but never applies and the sandbox stays as fleet-example describes it.
 *
 * Measures (printed) the time from the webhook's delivery to the comment being posted, for the opened
 * pull request and for a second push; asserts one comment with the ladders, one status per cluster, and
 * that the second push updated that comment.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseDocument } from "yaml";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Daemon } from "../../src/daemon/daemon.js";
import { sandboxDown } from "../../src/sandbox/down.js";
import { sandboxUp } from "../../src/sandbox/up.js";
import { sandboxLayout } from "../../src/sandbox/layout.js";
import { planCommentMarker } from "../../src/scm/comment.js";
import { GitHubHost } from "../../src/scm/github-host.js";
import { testDaemon, testHttpServer } from "../support/daemon.js";
import type { HttpServer } from "../../src/daemon/http.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { startGitHubServer, type GitHubServer } from "../support/github-server.js";
import { signedWebhook, type SignedWebhook } from "../support/github-webhooks.js";
import { eventually } from "../support/sandbox.js";

const FLEET = path.resolve(import.meta.dirname, "../../fleet-example");
const NAME = "pr-example";
const SECRET = "webhook-secret-of-the-example";
const TOKEN = "ghs_exampleInstallationToken0123456789";

let root: string;
let git: GitServer;
let github: GitHubServer;
let daemon: Daemon;
let server: HttpServer;

function hook(action: string, number: number, sha: string): SignedWebhook {
  return signedWebhook("pull_request", action, SECRET, {
    change: (payload) => {
      const pull = payload.pull_request as Record<string, Record<string, unknown>>;
      payload.number = number;
      (pull as Record<string, unknown>).number = number;
      pull.head = { ...pull.head, sha, repo: { ...(pull.head?.repo as object), full_name: "acme/fleet" } };
      pull.base = { ...pull.base, ref: "main", repo: { ...(pull.base?.repo as object), full_name: "acme/fleet" } };
      payload.repository = { ...(payload.repository as object), full_name: "acme/fleet" };
      return payload;
    },
  });
}

/** Seconds from delivering `webhook` until the comment of #7 is created or its body changes. */
async function timeToComment(webhook: SignedWebhook): Promise<number> {
  const before = comment()?.body;
  const started = Date.now();
  const response = await fetch(`${server.url}/hooks/github`, { method: "POST", headers: webhook.headers, body: webhook.body });
  expect(response.status).toBe(202);
  await eventually("the plan comment", () => Promise.resolve(comment() !== undefined && comment()?.body !== before ? true : undefined), 120_000);
  return (Date.now() - started) / 1000;
}

function comment(): { body: string } | undefined {
  const ours = github.comments.filter((c) => c.issue === 7 && c.body.startsWith(planCommentMarker("acme")));
  expect(ours.length).toBeLessThanOrEqual(1);
  return ours[0];
}

async function edit(dir: string, file: string, from: string, to: string): Promise<void> {
  const at = path.join(dir, file);
  const text = await fs.readFile(at, "utf8");
  expect(text).toContain(from);
  await fs.writeFile(at, text.replace(from, to));
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-pr-example-"));
  await sandboxUp({ root, name: NAME, mode: "lite", from: FLEET, progress: () => undefined });
  const fleet = path.join(root, "fleet");
  await fs.cp(FLEET, fleet, { recursive: true });
  // The base pauses the rollout: the daemon plans, applies nothing; a pull request's plan is unaffected.
  const file = path.join(fleet, "fleet.yaml");
  const doc = parseDocument(await fs.readFile(file, "utf8"));
  doc.setIn(["spec", "rollout", "paused"], true);
  await fs.writeFile(file, doc.toString());
  git = await startGitServer();
  const url = await git.serveFixture(fleet, "fleet");
  github = await startGitHubServer({ owner: "acme", repo: "fleet", token: TOKEN, latencyMs: 100 });
  daemon = testDaemon({
    work: root,
    source: { repo: url, ref: "main" },
    kubeconfig: sandboxLayout(root, NAME).kubeconfig,
    reviews: [new GitHubHost({ repo: { owner: "acme", repo: "fleet" }, apiUrl: github.url, auth: { kind: "token", token: TOKEN } })],
  }).daemon;
  server = await testHttpServer(daemon, { hooks: { github: SECRET }, reviews: { github: "acme/fleet" } });
  await daemon.start();
  await daemon.idle();
}, 600_000);

afterAll(async () => {
  await daemon.stop(10_000);
  await server.close();
  await github.close();
  await git.close();
  await sandboxDown(root, NAME);
  await fs.rm(root, { recursive: true, force: true });
}, 120_000);

afterEach(() => {
  expect(github.violations.splice(0)).toEqual([]);
});

describe("fleet-example's first pull request", () => {
  it("gets its plan comment and statuses within seconds of the webhook, and again after a second push", async () => {
    const first = await git.push("fleet", "production to 1.35.4", async (dir) => {
      await edit(dir, "clusters/prod-eu-1.yaml", 'version: "1.34.4"', 'version: "1.35.4"');
    }, { to: "refs/pull/7/head" });
    github.seedPull(7, first);
    const opened = await timeToComment(hook("opened", 7, first));
    await daemon.idle();
    const body = comment()?.body ?? "";
    expect(body).toContain("<b>prod-eu-1</b>");
    expect(body).toMatch(/1\.34\.4 → 1\.35\.4/);
    expect(github.statuses.filter((s) => s.sha === first).map((s) => s.context).sort()).toEqual(["bosun/canary-1", "bosun/plan", "bosun/prod-eu-1", "bosun/prod-us-1", "bosun/staging-eu-1"]);

    const second = await git.push("fleet", "and a new echo message", async (dir) => {
      await edit(dir, "fleet.yaml", "message: hello from the acme fleet", "message: hello again from the acme fleet");
    }, { from: "refs/pull/7/head", to: "refs/pull/7/head" });
    github.setPullHead(7, second);
    const pushed = await timeToComment(hook("synchronize", 7, second));
    await daemon.idle();
    // The add-ons are not installed in this sandbox, so the new message shows as part of an install; the
    // comment names the new head.
    expect(comment()?.body).toContain(`at \`${second.slice(0, 7)}\``);
    console.log(`fleet-example pull request, webhook → comment: opened ${opened.toFixed(2)} s, second push ${pushed.toFixed(2)} s (GitHub round trips of 100 ms)`);
  });
});
