import { describe, expect, it } from "vitest";
import { runWaves, type ClusterOutcome, type WaveEvent, type WaveSettings } from "../../../src/apply/waves.js";
import { UnreachableError } from "../../../src/kube/rest.js";
import type { ClusterPlan, Plan } from "../../../src/plan/types.js";

function cluster(name: string, wave: string, status: ClusterPlan["status"] = "changes"): ClusterPlan {
  return { name, wave, status, driver: "kubeadm", versions: { desired: "1.35.4" }, steps: [], findings: [] };
}

function plan(clusters: ClusterPlan[]): Plan {
  const waves: Plan["waves"] = [];
  for (const c of clusters) {
    const wave = waves.find((w) => w.name === c.wave);
    if (wave) wave.clusters.push(c.name);
    else waves.push({ name: c.wave, clusters: [c.name] });
  }
  return {
    apiVersion: "bosun.dev/plan/v1",
    fleet: "t",
    source: { kind: "local", path: "." },
    revision: null,
    generatedAt: "2026-11-23T12:00:00.000Z",
    waves,
    clusters,
    summary: { clusters: { "in-sync": 0, changes: 0, blocked: 0, unreachable: 0, invalid: 0 }, steps: { pending: 0, blocked: 0, manual: 0 } },
  };
}

const WAVES: WaveSettings[] = [
  { name: "canary", maxConcurrent: 1, soakSeconds: 0 },
  { name: "staging", maxConcurrent: 2, soakSeconds: 1800 },
  { name: "prod", maxConcurrent: 1, soakSeconds: 3600 },
];

/** Runs the schedule with scripted outcomes; records the order clusters start and end, and soaks. */
async function run(p: Plan, outcomes: Record<string, ClusterOutcome>, deferral: Record<string, string> = {}, waves: WaveSettings[] = WAVES) {
  const events: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const results = await runWaves(p, {
    waves,
    deferral: (c) => deferral[c.name],
    sleep: async (seconds) => {
      events.push(`soak ${seconds}`);
      await Promise.resolve();
    },
    runCluster: async (c, stop) => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      const outcome = outcomes[c.name] ?? { kind: "converged", steps: 1 };
      if (stop.aborted && outcome.kind === "converged") return { kind: "halted", reason: "stopped after its current step", steps: 1 };
      return outcome;
    },
    onEvent: (e: WaveEvent) => {
      if (e.kind === "cluster-start") events.push(`start ${e.cluster}`);
      if (e.kind === "halt") events.push(`halt ${e.wave}`);
    },
  });
  return { results: Object.fromEntries([...results].map(([k, v]) => [k, v.kind])), events, maxRunning };
}

describe("runWaves", () => {
  it("runs waves in order, within maxConcurrent, soaking after a wave that changed something", async () => {
    const p = plan([cluster("c1", "canary"), cluster("s1", "staging"), cluster("s2", "staging"), cluster("s3", "staging"), cluster("p1", "prod")]);
    const { results, events, maxRunning } = await run(p, {});
    expect(results).toEqual({ c1: "converged", s1: "converged", s2: "converged", s3: "converged", p1: "converged" });
    expect(events.filter((e) => e.startsWith("start") || e.startsWith("soak"))).toEqual(["start c1", "start s1", "start s2", "start s3", "soak 1800", "start p1"]);
    expect(maxRunning).toBe(2);
  });

  it("halts every later wave when a cluster fails; the others of its wave stop after their step", async () => {
    const p = plan([cluster("c1", "canary"), cluster("s1", "staging"), cluster("s2", "staging"), cluster("s3", "staging"), cluster("p1", "prod")]);
    const { results, events } = await run(p, { s1: { kind: "failed", step: "s1/addon.upgrade/echo", reason: "rolled back" } });
    expect(results).toEqual({ c1: "converged", s1: "failed", s2: "halted", s3: "halted", p1: "halted" });
    expect(events).toContain("halt staging");
    expect(events).not.toContain("start p1");
    expect(events).not.toContain("start s3");
  });

  it("names the failed cluster and step in the halt, without repeating its reason in every halted cluster", async () => {
    const p = plan([cluster("s1", "staging"), cluster("s2", "staging"), cluster("s3", "staging"), cluster("p1", "prod")]);
    const reason = "helm exited with code 1:\nlevel=WARN msg=...\nError: UPGRADE FAILED: a long story";
    const causes: string[] = [];
    const results = await runWaves(p, {
      waves: [{ name: "staging", maxConcurrent: 1, soakSeconds: 0 }, WAVES[2] as WaveSettings],
      deferral: () => undefined,
      sleep: async () => Promise.resolve(),
      runCluster: async (c) => Promise.resolve<ClusterOutcome>(c.name === "s2" ? { kind: "failed", step: "s2/addon.upgrade/echo", reason } : { kind: "converged", steps: 1 }),
      onEvent: (e) => {
        if (e.kind === "halt") causes.push(e.cause);
      },
    });
    expect(results.get("s2")).toEqual({ kind: "failed", step: "s2/addon.upgrade/echo", reason });
    expect(causes).toEqual(["s2 failed at s2/addon.upgrade/echo"]);
    expect(results.get("s3")).toEqual({ kind: "halted", reason: "not started: s2 failed at s2/addon.upgrade/echo", steps: 0 });
    expect(results.get("p1")).toEqual({ kind: "halted", reason: "wave staging failed (s2 failed at s2/addon.upgrade/echo); later waves do not start", steps: 0 });
  });

  /** The waves with `continueOnSkip` on every one. */
  const lenient = WAVES.map((w) => ({ ...w, continueOnSkip: true }));

  it("defers clusters outside their window and skips in-sync ones; a deferred cluster holds later waves by default", async () => {
    const p = plan([cluster("c1", "canary", "in-sync"), cluster("s1", "staging"), cluster("p1", "prod")]);
    const held = await run(p, {}, { s1: "outside its allow window for upgrade: nights" });
    expect(held.results).toEqual({ c1: "in-sync", s1: "deferred", p1: "halted" });
    expect(held.events).toContain("halt staging");
    const { results, events } = await run(p, {}, { s1: "outside its allow window for upgrade: nights" }, lenient);
    expect(results).toEqual({ c1: "in-sync", s1: "deferred", p1: "converged" });
    // Nothing changed in staging, so there is nothing to soak.
    expect(events).not.toContain("soak 1800");
  });

  it("reports unreachable clusters, planned or mid-run; they hold later waves unless the wave says continueOnSkip", async () => {
    const p = plan([cluster("c1", "canary", "unreachable"), cluster("s1", "staging"), cluster("s2", "staging"), cluster("p1", "prod")]);
    const held = await run(p, { s2: { kind: "unreachable", reason: "connection refused" } });
    expect(held.results).toEqual({ c1: "unreachable", s1: "halted", s2: "halted", p1: "halted" });
    const { results } = await run(p, { s2: { kind: "unreachable", reason: "connection refused" } }, {}, lenient);
    expect(results).toEqual({ c1: "unreachable", s1: "converged", s2: "unreachable", p1: "converged" });
  });

  it("halts later waves when a cluster turns unhealthy during the soak, and soaks only the clusters it changed", async () => {
    const p = plan([cluster("s1", "staging"), cluster("s2", "staging", "in-sync"), cluster("p1", "prod")]);
    const soaked: string[][] = [];
    const results = await runWaves(p, {
      waves: WAVES,
      deferral: () => undefined,
      sleep: async () => Promise.resolve(),
      soak: async (_wave, clusters, seconds) => {
        soaked.push([...clusters.map((c) => c.name), String(seconds)]);
        return Promise.resolve("s1: node s1-worker-1 is not Ready");
      },
      runCluster: async () => Promise.resolve({ kind: "converged", steps: 1 }),
    });
    expect(soaked).toEqual([["s1", "1800"]]);
    expect(results.get("p1")).toEqual({ kind: "halted", reason: "wave staging turned unhealthy during its soak (s1: node s1-worker-1 is not Ready); later waves do not start", steps: 0 });
  });

  it("says which clusters were skipped and how to let the rollout go on", async () => {
    const p = plan([cluster("c1", "canary", "unreachable"), cluster("p1", "prod")]);
    const results = await runWaves(p, { waves: WAVES, deferral: () => undefined, sleep: async () => Promise.resolve(), runCluster: async () => Promise.resolve({ kind: "converged", steps: 1 }) });
    expect(results.get("p1")).toEqual({ kind: "halted", reason: "wave canary did not finish: c1 (unreachable) skipped; later waves do not start (continueOnSkip: true on the wave lets them)", steps: 0 });
  });

  it("treats a runCluster that throws an unreachable error as that cluster unreachable, not failed", async () => {
    const p = plan([cluster("c1", "canary"), cluster("p1", "prod")]);
    const results = await runWaves(p, {
      waves: lenient,
      deferral: () => undefined,
      sleep: async () => Promise.resolve(),
      runCluster: async (c) => {
        if (c.name === "c1") throw new UnreachableError("c1", "cluster c1: write bosun-system/bosun-journal: no answer within 10000 ms");
        return Promise.resolve({ kind: "converged", steps: 1 });
      },
    });
    expect(results.get("c1")).toEqual({ kind: "unreachable", reason: "cluster c1: write bosun-system/bosun-journal: no answer within 10000 ms" });
    expect(results.get("p1")?.kind).toBe("converged");
  });

  it("treats a runCluster that throws as that cluster's failure only", async () => {
    const p = plan([cluster("c1", "canary"), cluster("p1", "prod")]);
    const results = await runWaves(p, {
      waves: WAVES,
      deferral: () => undefined,
      sleep: async () => Promise.resolve(),
      runCluster: async (c) => {
        if (c.name === "c1") throw new Error("boom");
        return Promise.resolve({ kind: "converged", steps: 1 });
      },
    });
    expect(results.get("c1")).toEqual({ kind: "failed", step: "(run)", reason: "boom" });
    expect(results.get("p1")?.kind).toBe("halted");
  });
});
