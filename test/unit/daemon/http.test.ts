/**
 * The daemon's HTTP surface over real HTTP on 127.0.0.1: routes, methods, the bearer token of mutating
 * endpoints, `ControlError` statuses, body limits and push webhooks signed the way GitHub signs them.
 */
import { sign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHttpServer, parseListen, type HttpServer } from "../../../src/daemon/http.js";
import { ApiTokens } from "../../../src/daemon/tokens.js";
import { FixtureControl, TARGET } from "../../support/daemon-fixture.js";

const OPS_TOKEN = "ops-token-0123456789abcdef";
const CI_TOKEN = "ci-token-fedcba9876543210";
const GITHUB_SECRET = "github-webhook-secret-42";
const GITLAB_TOKEN = "gitlab-webhook-token-42";
const HOOK_TOKEN = "generic-webhook-token-42";

const control = new FixtureControl();
const logged: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
let server: HttpServer;

beforeAll(async () => {
  server = await startHttpServer({
    listen: "127.0.0.1:0",
    control,
    metrics: () => Promise.resolve({ contentType: "text/plain; version=0.0.4; charset=utf-8", body: "bosun_up 1\n" }),
    tokens: ApiTokens.of([
      ["ops", OPS_TOKEN],
      ["ci", CI_TOKEN],
    ]),
    hooks: { github: GITHUB_SECRET, gitlab: GITLAB_TOKEN, bearer: HOOK_TOKEN },
    followedRef: "main",
    log: (level, message, fields) => {
      logged.push({ level, message, ...(fields ? { fields } : {}) });
    },
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  control.calls.length = 0;
  control.current = new FixtureControl().current;
});

async function call(method: string, path: string, options: { token?: string; body?: string | object; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string; json: () => unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const body = options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  const response = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) as unknown, headers: response.headers };
}

describe("parseListen", () => {
  it.each([
    ["127.0.0.1:8080", { host: "127.0.0.1", port: 8080 }],
    ["[::1]:0", { host: "::1", port: 0 }],
    ["localhost:9000", { host: "localhost", port: 9000 }],
  ])("parses %s", (listen, expected) => {
    expect(parseListen(listen)).toEqual(expected);
  });
  it.each(["8080", "127.0.0.1", "127.0.0.1:99999", "http://127.0.0.1:80", ":80"])("refuses %s", (listen) => {
    expect(() => parseListen(listen)).toThrow(/host:port/);
  });
});

describe("probes and reads", () => {
  it("binds where it was told and says so in its URL", () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("answers /healthz", async () => {
    const r = await call("GET", "/healthz");
    expect(r.status).toBe(200);
  });

  it("answers /readyz 200 when ready and 503 with the reason when not", async () => {
    expect((await call("GET", "/readyz")).status).toBe(200);
    control.current = { ...control.current, ready: false, notReadyReason: "the first fetch failed: connection refused" };
    const r = await call("GET", "/readyz");
    expect(r.status).toBe(503);
    expect(r.text).toContain("the first fetch failed: connection refused");
  });

  it("serves the metrics function's exposition with its content type", async () => {
    const r = await call("GET", "/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(r.text).toBe("bosun_up 1\n");
  });

  it("serves the status as JSON", async () => {
    const r = await call("GET", "/api/v1/status");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("application/json");
    expect(r.json()).toEqual(control.current);
  });

  it("serves a cluster's plan, and 404 for one never planned or unknown", async () => {
    const plan = await call("GET", "/api/v1/clusters/prod-us-1/plan");
    expect(plan.status).toBe(200);
    expect(plan.json()).toMatchObject({ name: "prod-us-1", steps: [{ kind: "addon.upgrade" }] });
    const never = await call("GET", "/api/v1/clusters/canary-1/plan");
    expect(never.status).toBe(404);
    expect(never.json()).toEqual({ error: "cluster canary-1 has not been planned yet" });
    expect((await call("GET", "/api/v1/clusters/nope/plan")).status).toBe(404);
  });

  it("serves the status page and cluster pages as HTML with a no-script policy", async () => {
    const page = await call("GET", "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    for (const name of ["canary-1", "staging-eu-1", "prod-eu-1", "prod-us-1"]) expect(page.text).toContain(`data-cluster="${name}"`);
    const cluster = await call("GET", "/clusters/prod-us-1");
    expect(cluster.status).toBe(200);
    expect(cluster.text).toContain("upgrade echo 0.1.0 → 0.2.0");
    expect((await call("GET", "/clusters/nope")).status).toBe(404);
  });

  it("answers HEAD like GET without a body", async () => {
    const r = await call("HEAD", "/healthz");
    expect(r.status).toBe(200);
    expect(r.text).toBe("");
  });

  it("404 for an unknown route, 405 with Allow for a wrong method, 400 for a malformed path", async () => {
    expect((await call("GET", "/nope")).status).toBe(404);
    expect((await call("GET", "/api/v1/nope")).status).toBe(404);
    const wrong = await call("POST", "/api/v1/status");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    expect((await call("GET", "/api/v1/approvals")).status).toBe(405);
    expect((await call("GET", "/clusters/%E0%A4%A")).status).toBe(400);
  });
});

describe("mutating endpoints", () => {
  const endpoints: [string, string, object | undefined][] = [
    ["POST", "/api/v1/approvals", { wave: "production", revision: TARGET }],
    ["POST", "/api/v1/pauses", { scope: "cluster", name: "prod-eu-1" }],
    ["DELETE", "/api/v1/pauses/cluster/prod-eu-1", undefined],
    ["POST", "/api/v1/reconcile", undefined],
  ];

  it.each(endpoints)("%s %s: 401 without a token and with a wrong one, nothing done, no token named", async (method, path, body) => {
    for (const options of [{}, { token: "not-a-token-at-all-xxxxxxxx" }, { headers: { authorization: `Basic ${OPS_TOKEN}` } }]) {
      const r = await call(method, path, { ...options, ...(body === undefined ? {} : { body }) });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe('Bearer realm="bosun"');
      expect(r.text).not.toMatch(/ops|ci-/);
    }
    expect(control.calls).toEqual([]);
  });

  it("an approval through the API calls control.approve with the token's name", async () => {
    const r = await call("POST", "/api/v1/approvals", { token: CI_TOKEN, body: { wave: "production", revision: TARGET.slice(0, 7), by: "alice@laptop" } });
    expect(r.status).toBe(201);
    expect(control.calls).toEqual([{ kind: "approve", wave: "production", revision: TARGET.slice(0, 7), actor: { token: "ci", by: "alice@laptop" } }]);
    expect(r.json()).toMatchObject({ wave: "production", revision: TARGET });
  });

  it("without `by` the token's name stands for who asked", async () => {
    await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: { wave: "production", revision: TARGET } });
    expect(control.calls).toEqual([{ kind: "approve", wave: "production", revision: TARGET, actor: { token: "ops", by: "ops" } }]);
  });

  it("maps ControlError to its status with {error}", async () => {
    const auto = await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: { wave: "canary", revision: TARGET } });
    expect(auto.status).toBe(409);
    expect(auto.json()).toEqual({ error: "wave canary is not manual: nothing to approve" });
    expect((await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: { wave: "nope", revision: TARGET } })).status).toBe(404);
    expect((await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: { wave: "production", revision: "0000000" } })).status).toBe(400);
  });

  it("refuses a body that is not the expected JSON with 400", async () => {
    expect((await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: "{not json" })).status).toBe(400);
    expect((await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: { wave: "production" } })).json()).toEqual({ error: "field revision is required" });
    expect((await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: { wave: 1, revision: TARGET } })).status).toBe(400);
    expect((await call("POST", "/api/v1/pauses", { token: OPS_TOKEN, body: { scope: "fleet", name: "x" } })).status).toBe(400);
    expect(control.calls).toEqual([]);
  });

  it("refuses a body past the limit with 413", async () => {
    const r = await call("POST", "/api/v1/approvals", { token: OPS_TOKEN, body: { wave: "production", revision: TARGET, by: "x".repeat(100_000) } });
    expect(r.status).toBe(413);
    expect(control.calls).toEqual([]);
  });

  it("pauses and resumes with the token's name", async () => {
    const paused = await call("POST", "/api/v1/pauses", { token: OPS_TOKEN, body: { scope: "wave", name: "production", by: "bob", reason: "incident 42" } });
    expect(paused.status).toBe(201);
    const resumed = await call("DELETE", "/api/v1/pauses/wave/production", { token: OPS_TOKEN, headers: { "x-bosun-by": "bob" } });
    expect(resumed.status).toBe(200);
    expect(control.calls).toEqual([
      { kind: "pause", scope: "wave", name: "production", actor: { token: "ops", by: "bob" }, reason: "incident 42" },
      { kind: "resume", scope: "wave", name: "production", actor: { token: "ops", by: "bob" } },
    ]);
    expect((await call("DELETE", "/api/v1/pauses/cluster/nope", { token: OPS_TOKEN })).status).toBe(404);
  });

  it("triggers a reconcile", async () => {
    const r = await call("POST", "/api/v1/reconcile", { token: CI_TOKEN });
    expect(r.status).toBe(202);
    expect(control.calls).toEqual([{ kind: "trigger", reason: "api request (ci)" }]);
  });

  it("never logs a token", () => {
    const text = JSON.stringify(logged);
    for (const secret of [OPS_TOKEN, CI_TOKEN, GITHUB_SECRET, GITLAB_TOKEN, HOOK_TOKEN]) expect(text).not.toContain(secret);
  });
});

describe("POST /hooks/git", () => {
  const AFTER = "0123456789abcdef0123456789abcdef01234567";
  const push = (ref: string): string => JSON.stringify({ ref, before: "0".repeat(40), after: AFTER, repository: { full_name: "acme/fleet" } });

  async function github(body: string, signature: string | undefined, event = "push"): ReturnType<typeof call> {
    return call("POST", "/hooks/git", { body, headers: { "content-type": "application/json", "x-github-event": event, ...(signature === undefined ? {} : { "x-hub-signature-256": signature }) } });
  }

  it("a signed GitHub push to the followed ref triggers a fetch (202)", async () => {
    const body = push("refs/heads/main");
    const r = await github(body, await sign(GITHUB_SECRET, body));
    expect(r.status).toBe(202);
    expect(control.calls).toEqual([{ kind: "trigger", reason: `push webhook (github) ${AFTER}` }]);
  });

  it("a GitHub push with a wrong, missing or other-secret signature is 401 and triggers nothing", async () => {
    const body = push("refs/heads/main");
    const tampered = push("refs/heads/main").replace(AFTER, "f".repeat(40));
    for (const [payload, signature] of [
      [body, await sign("another-secret", body)],
      [body, undefined],
      [body, ""],
      [body, "sha256=deadbeef"],
      [tampered, await sign(GITHUB_SECRET, body)],
    ] as const) {
      const r = await github(payload, signature);
      expect(r.status).toBe(401);
    }
    expect(control.calls).toEqual([]);
  });

  it("verifies over the raw bytes: a body that is not UTF-8 is refused even when signed", async () => {
    const bytes = Buffer.concat([Buffer.from('{"ref":"refs/heads/main","x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const response = await fetch(`${server.url}/hooks/git`, {
      method: "POST",
      headers: { "x-github-event": "push", "x-hub-signature-256": await sign(GITHUB_SECRET, bytes.toString("utf8")) },
      body: bytes,
    });
    expect(response.status).toBe(401);
    expect(control.calls).toEqual([]);
  });

  it("a push to another ref is acknowledged and ignored", async () => {
    const body = push("refs/heads/feature");
    const r = await github(body, await sign(GITHUB_SECRET, body));
    expect(r.status).toBe(202);
    expect(r.json()).toEqual({ ignored: "push to refs/heads/feature, not to the followed ref main" });
    expect(control.calls).toEqual([]);
  });

  it("answers GitHub's ping with 200 once signed, and ignores other events", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    expect((await github(body, await sign(GITHUB_SECRET, body), "ping")).status).toBe(200);
    expect((await github(body, undefined, "ping")).status).toBe(401);
    const issues = await github(body, await sign(GITHUB_SECRET, body), "issues");
    expect(issues.status).toBe(202);
    expect(control.calls).toEqual([]);
  });

  it("takes GitHub's form-encoded payload", async () => {
    const body = new URLSearchParams({ payload: push("refs/heads/main") }).toString();
    const r = await call("POST", "/hooks/git", { body, headers: { "content-type": "application/x-www-form-urlencoded", "x-github-event": "push", "x-hub-signature-256": await sign(GITHUB_SECRET, body) } });
    expect(r.status).toBe(202);
    expect(control.calls).toEqual([{ kind: "trigger", reason: `push webhook (github) ${AFTER}` }]);
  });

  it("GitLab: the right token triggers, a wrong one is 401", async () => {
    const body = push("refs/heads/main");
    const bad = await call("POST", "/hooks/git", { body, headers: { "x-gitlab-event": "Push Hook", "x-gitlab-token": "wrong" } });
    expect(bad.status).toBe(401);
    expect(control.calls).toEqual([]);
    const good = await call("POST", "/hooks/git", { body, headers: { "x-gitlab-event": "Push Hook", "x-gitlab-token": GITLAB_TOKEN } });
    expect(good.status).toBe(202);
    expect(control.calls).toEqual([{ kind: "trigger", reason: `push webhook (gitlab) ${AFTER}` }]);
  });

  it("generic: a bearer token triggers with or without a body; a wrong token or the API token is 401", async () => {
    expect((await call("POST", "/hooks/git", { token: OPS_TOKEN })).status).toBe(401);
    expect((await call("POST", "/hooks/git", {})).status).toBe(401);
    expect(control.calls).toEqual([]);
    expect((await call("POST", "/hooks/git", { token: HOOK_TOKEN })).status).toBe(202);
    expect((await call("POST", "/hooks/git", { token: HOOK_TOKEN, body: { ref: "refs/heads/other" } })).status).toBe(202);
    expect(control.calls).toEqual([{ kind: "trigger", reason: "push webhook (generic) unknown" }]);
  });

  it("refuses a body over 1 MiB with 413, and triggers nothing", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", after: AFTER, pad: "x".repeat(1024 * 1024) });
    const r = await github(body, await sign(GITHUB_SECRET, body));
    expect(r.status).toBe(413);
    expect(control.calls).toEqual([]);
  });

  it("GET on the hook is 405", async () => {
    expect((await call("GET", "/hooks/git")).status).toBe(405);
  });
});

describe("a server with no tokens and no webhook secrets", () => {
  it("refuses every mutating request and every webhook", async () => {
    const bare = new FixtureControl();
    const s = await startHttpServer({ listen: "127.0.0.1:0", control: bare, metrics: () => Promise.resolve({ contentType: "text/plain", body: "" }), tokens: ApiTokens.of([]), hooks: {}, followedRef: null, log: () => undefined });
    try {
      const body = JSON.stringify({ ref: "refs/heads/main" });
      const responses = await Promise.all([
        fetch(`${s.url}/api/v1/reconcile`, { method: "POST", headers: { authorization: "Bearer anything-at-all-0000" } }),
        fetch(`${s.url}/hooks/git`, { method: "POST", headers: { authorization: "Bearer anything-at-all-0000" } }),
        fetch(`${s.url}/hooks/git`, { method: "POST", body, headers: { "x-github-event": "push", "x-hub-signature-256": await sign("guess", body) } }),
        fetch(`${s.url}/hooks/git`, { method: "POST", body, headers: { "x-gitlab-event": "Push Hook", "x-gitlab-token": "" } }),
      ]);
      expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401]);
      expect(bare.calls).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
