/**
 * `bosun run`'s flags and their environment variables: a variable stands in for its flag (a container
 * sets no flags), a flag wins over its variable, and a bad value from either exits 2 naming both.
 */
import { afterEach, describe, expect, it } from "vitest";
import { main } from "../../../src/cli/program.js";
import { runSettings, RUN_ENV } from "../../../src/cli/run.js";

const saved = { ...process.env };
afterEach(() => {
  for (const name of Object.values(RUN_ENV)) {
    if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = saved[name];
  }
});

async function check(args: string[]): Promise<{ code: number; err: string }> {
  let err = "";
  const code = await main(args, { checkOnly: true, stdout: () => undefined, stderr: (t) => (err += t) });
  return { code, err };
}

describe("bosun run's flags", () => {
  it("takes every setting from its environment variable when the flag is absent", async () => {
    process.env[RUN_ENV.fleet] = ".";
    process.env[RUN_ENV.interval] = "soon";
    const bad = await check(["run"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("BOSUN_INTERVAL");
    process.env[RUN_ENV.interval] = "30s";
    expect((await check(["run"])).code).toBe(0);
    // The flag wins over the variable.
    expect((await check(["run", "--interval", "soon"])).code).toBe(2);
  });

  it("resolves the defaults: 1m, 5m, 127.0.0.1:8080, a state directory, bosun-system, 60s", async () => {
    const settings = await runSettings({ fleet: ".", interval: "1m", driftInterval: "5m", listen: "127.0.0.1:8080", stateNamespace: "bosun-system", shutdownTimeout: "60s", clusterTimeout: "60s", logLevel: "info" }, {});
    expect(settings).toMatchObject({ intervalMs: 60_000, driftIntervalMs: 300_000, listen: "127.0.0.1:8080", shutdownTimeoutMs: 60_000, clusterTimeoutMs: 60_000, state: { kind: "directory" } });
    expect(settings.source).toEqual({ fleet: "." });
  });

  it("follows main by default with --repo, and kubernetes state with its context and namespace", async () => {
    const settings = await runSettings({ repo: "https://git.example.com/fleet.git", interval: "1m", driftInterval: "5m", listen: "0.0.0.0:9090", state: "kubernetes", stateContext: "mgmt", stateNamespace: "ops", shutdownTimeout: "30s", clusterTimeout: "60s", logLevel: "debug" }, {});
    expect(settings.source).toEqual({ repo: "https://git.example.com/fleet.git", ref: "main" });
    expect(settings.state).toEqual({ kind: "kubernetes", context: "mgmt", namespace: "ops" });
  });
});
