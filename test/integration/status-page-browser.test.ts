/**
 * The status page in a real browser: the HTTP server on 127.0.0.1 with fleet-example's four clusters in
 * several phases, opened in headless Chromium (Debian's package, installed when missing). Every cluster
 * and its phase must be in the DOM Chromium built, the cluster page must show the plan, and markup in an
 * error must stay text. `UPDATE_SCREENSHOT=1` rewrites docs/images/status-page.png (otherwise the
 * screenshot goes to a temporary file, so the test never dirties the tree).
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHttpServer, type HttpServer } from "../../src/daemon/http.js";
import { ApiTokens } from "../../src/daemon/tokens.js";
import { dumpDom, screenshot } from "../support/browser.js";
import { FixtureControl } from "../support/daemon-fixture.js";

const REPO = path.resolve(import.meta.dirname, "../..");
const PHASES = [
  ["canary-1", "in-sync"],
  ["staging-eu-1", "drifted"],
  ["prod-eu-1", "awaiting-approval"],
  ["prod-us-1", "failed"],
] as const;

const control = new FixtureControl();
let server: HttpServer;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "bosun-status-page-"));
  server = await startHttpServer({
    listen: "127.0.0.1:0",
    control,
    metrics: () => Promise.resolve({ contentType: "text/plain", body: "" }),
    tokens: ApiTokens.of([]),
    hooks: {},
    followedRef: "main",
    log: () => undefined,
  });
});

afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

/** The elements of a serialised DOM, as a DOMParser-free check: row of a cluster → its phase badge. */
function phaseOf(dom: string, cluster: string): string | undefined {
  const row = new RegExp(`<tr data-cluster="${cluster}">(.*?)</tr>`, "s").exec(dom)?.[1];
  return row === undefined ? undefined : /data-phase="([^"]+)"/.exec(row)?.[1];
}

describe("the status page in headless Chromium", () => {
  it("shows every cluster of fleet-example with its phase", async () => {
    const dom = await dumpDom(`${server.url}/`);
    // Chromium's serialisation, not bosun's text: the page parsed into a document with a body and tables.
    expect(dom).toMatch(/<html lang="en"><head>/);
    expect(dom).toContain("<title>bosun — acme</title>");
    for (const [cluster, phase] of PHASES) {
      expect(phaseOf(dom, cluster), cluster).toBe(phase);
      expect(dom).toContain(`>${cluster}</a>`);
    }
    for (const wave of ["canary", "staging", "production"]) expect(dom).toContain(`data-wave="${wave}"`);
  });

  it("opens a cluster page with its latest plan", async () => {
    const dom = await dumpDom(`${server.url}/clusters/prod-us-1`);
    expect(dom).toContain("<h1>prod-us-1</h1>");
    expect(dom).toContain("upgrade echo 0.1.0 → 0.2.0");
    expect(dom).toContain('<span class="add">');
  });

  it("keeps markup from an error as text: no script element in the document", async () => {
    const hostile = new FixtureControl();
    hostile.current = {
      ...hostile.current,
      clusters: hostile.current.clusters.map((c) => (c.name === "prod-us-1" ? { ...c, lastError: `<script>document.title="owned"</script><img src=x onerror="document.title='owned'">` } : c)),
    };
    const s = await startHttpServer({ listen: "127.0.0.1:0", control: hostile, metrics: () => Promise.resolve({ contentType: "text/plain", body: "" }), tokens: ApiTokens.of([]), hooks: {}, followedRef: null, log: () => undefined });
    try {
      const dom = await dumpDom(`${s.url}/`);
      expect(dom).not.toContain("<script");
      expect(dom).not.toContain("<img");
      expect(dom).not.toContain("<title>owned</title>");
      expect(dom).toContain("&lt;script&gt;");
    } finally {
      await s.close();
    }
  });

  it("takes a screenshot", async () => {
    const update = process.env.UPDATE_SCREENSHOT === "1";
    const file = update ? path.join(REPO, "docs/images/status-page.png") : path.join(tmp, "status-page.png");
    await mkdir(path.dirname(file), { recursive: true });
    await screenshot(`${server.url}/`, file, { width: 1280, height: 900 });
    const png = await readFile(file);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(10_000);
  });
});
