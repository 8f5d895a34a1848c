/**
 * The status page is built from untrusted text (names and errors from the fleet repository, messages and
 * diffs from clusters): none of it may reach the HTML raw.
 */
import { describe, expect, it } from "vitest";
import { html, renderClusterPage, renderErrorPage, renderStatusPage } from "../../../src/daemon/status-page.js";
import type { DaemonStatus } from "../../../src/daemon/control.js";
import { fleetExampleStatus, prodUsPlan, TARGET } from "../../support/daemon-fixture.js";

const SCRIPT = `<script>alert("x")</script>`;
const OPTIONS = { serverUrl: "http://127.0.0.1:8080" };

/** A status whose every free-text field carries markup. */
function hostileStatus(): DaemonStatus {
  const status = fleetExampleStatus();
  const [first, ...rest] = status.clusters;
  if (first === undefined) throw new Error("fixture has clusters");
  const evil = { ...first, name: `evil${SCRIPT}`, lastError: `boom ${SCRIPT} & "quotes" 'too'`, owner: SCRIPT, nextWindow: SCRIPT, drift: { revision: TARGET, fingerprint: "x", detectedAt: SCRIPT, steps: 1, diff: `+ ${SCRIPT}\n- <img src=x onerror=alert(1)>\n` } };
  return {
    ...status,
    fleet: `fleet${SCRIPT}`,
    source: { location: `http://x/${SCRIPT}`, ref: SCRIPT },
    lastFetchError: SCRIPT,
    notReadyReason: SCRIPT,
    ready: false,
    invalidRevision: { revision: TARGET, errors: [{ file: `clusters/${SCRIPT}.yaml`, line: 3, column: 7, message: `unknown field ${SCRIPT}`, path: "spec.x" }] },
    waves: status.waves.map((w, i) => (i === 0 ? { ...w, name: `wave${SCRIPT}`, clusters: [evil.name], paused: { scope: "wave", name: "w", by: SCRIPT, at: SCRIPT, reason: SCRIPT }, halted: { wave: "w", revision: TARGET, cause: SCRIPT, at: SCRIPT } } : w)),
    clusters: [evil, ...rest],
  };
}

describe("html", () => {
  it.each([
    ["<script>", "&lt;script&gt;"],
    [`"a" & 'b'`, "&quot;a&quot; &amp; &#39;b&#39;"],
    ["\u001b[31mred", "\\x1b[31mred"],
  ])("escapes %j", (text, expected) => {
    expect(html(text)).toBe(expected);
  });
});

describe("renderStatusPage", () => {
  it("never lets markup from the status through", () => {
    const page = renderStatusPage(hostileStatus(), OPTIONS);
    expect(page).not.toContain("<script");
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    // the error is shown, escaped, with its file:line:col
    expect(page).toContain("clusters/&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;.yaml:3:7");
    expect(page).toContain("unknown field &lt;script&gt;");
  });

  it("shows the waves in order, each cluster with its phase, and refreshes itself", () => {
    const page = renderStatusPage(fleetExampleStatus(), OPTIONS);
    expect(page).toContain('<meta http-equiv="refresh" content="10">');
    const order = ["canary", "staging", "production"].map((w) => page.indexOf(`data-wave="${w}"`));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const [name, phase] of [["canary-1", "in-sync"], ["staging-eu-1", "drifted"], ["prod-eu-1", "awaiting-approval"], ["prod-us-1", "failed"]]) {
      expect(page).toMatch(new RegExp(`data-cluster="${name}".*?data-phase="${phase}"`));
    }
    expect(page).toContain(`bosun approve --server http://127.0.0.1:8080 --wave production --revision ${TARGET}`);
    expect(page).toContain("bosun pause --server http://127.0.0.1:8080 --wave canary");
    expect(page).toContain("deployment echo/echo not ready after 3m");
  });

  it("quotes a name that is not a plain word in the command hints", () => {
    const status = fleetExampleStatus();
    status.waves = status.waves.map((w) => (w.name === "production" ? { ...w, name: "prod it's" } : w));
    expect(renderStatusPage(status, OPTIONS)).toContain("--wave &#39;prod it&#39;\\&#39;&#39;s&#39;");
  });
});

describe("renderClusterPage", () => {
  it("renders the latest plan as text, escaped", () => {
    const status = fleetExampleStatus();
    const cluster = status.clusters.find((c) => c.name === "prod-us-1");
    if (cluster === undefined) throw new Error("fixture has prod-us-1");
    const plan = prodUsPlan();
    const first = plan.steps[0];
    if (first?.kind !== "addon.upgrade") throw new Error("fixture step");
    plan.steps = [{ ...first, summary: `upgrade ${SCRIPT}`, valuesDiff: `--- live\n+++ desired\n+x: ${SCRIPT}\n` }];
    const page = renderClusterPage(status, { ...cluster, lastError: SCRIPT }, plan, OPTIONS);
    expect(page).not.toContain("<script");
    expect(page).toContain("upgrade &lt;script&gt;");
    expect(page).toContain('<span class="add">');
    expect(page).toContain("bosun plan for fleet acme");
  });

  it("says when a cluster was not planned yet, and shows its drift", () => {
    const status = fleetExampleStatus();
    const cluster = status.clusters.find((c) => c.name === "staging-eu-1");
    if (cluster === undefined) throw new Error("fixture has staging-eu-1");
    const page = renderClusterPage(status, cluster, undefined, OPTIONS);
    expect(page).toContain("Not planned yet");
    expect(page).toContain("replicas: 3");
  });
});

describe("renderErrorPage", () => {
  it("escapes its message", () => {
    expect(renderErrorPage("not found", `no cluster ${SCRIPT}`)).not.toContain("<script");
  });
});
