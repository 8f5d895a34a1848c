/**
 * The fleet-example is the demo's and the docs' fleet: it must load, and its normalized form is pinned by a
 * golden file. Run with UPDATE_GOLDEN=1 to rewrite the golden file after an intended change.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { commandContext } from "../../../src/cli/context.js";
import { renderValid, validateCommand } from "../../../src/cli/validate.js";
import { formatIssue } from "../../../src/spec/issues.js";
import { loadFleet } from "../../../src/spec/load.js";

const EXAMPLE = fileURLToPath(new URL("../../../fleet-example", import.meta.url));
const GOLDEN = new URL("golden/fleet-example.json", import.meta.url);

describe("fleet-example", () => {
  it("loads without errors or warnings", async () => {
    const result = await loadFleet(EXAMPLE);
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([]);
    expect(result.warnings.map(formatIssue)).toEqual([]);
  });

  it("matches the golden normalized fleet", async () => {
    const result = await loadFleet(EXAMPLE);
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join("\n"));
    const text = `${JSON.stringify(result.value, null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === "1") await fs.writeFile(GOLDEN, text);
    expect(text).toBe(await fs.readFile(GOLDEN, "utf8"));
  });

  it("resolves waves, windows and merged defaults as the README describes", async () => {
    const result = await loadFleet(EXAMPLE);
    if (!result.ok) throw new Error("fleet-example is invalid");
    const fleet = result.value;
    expect(fleet.waves.map((w) => [w.name, w.clusters])).toEqual([
      ["canary", ["canary-1"]],
      ["staging", ["staging-eu-1"]],
      ["production", ["prod-eu-1", "prod-us-1"]],
    ]);
    const byName = new Map(fleet.clusters.map((c) => [c.name, c]));
    expect(byName.get("prod-eu-1")?.topology.controlPlane).toEqual({ replicas: 3, zones: ["eu-1a", "eu-1b", "eu-1c"] });
    expect(byName.get("prod-us-1")?.provider).toEqual({ kind: "clusterAPI", context: "mgmt", namespace: "fleet", name: "prod-us-1" });
    // prod-us-1 turns the default metrics-server off; everyone else inherits it, first, as echo depends on it.
    expect(byName.get("prod-us-1")?.addons.map((a) => a.name)).toEqual(["echo", "monitoring"]);
    expect(byName.get("canary-1")?.addons.map((a) => a.name)).toEqual(["metrics-server", "echo", "monitoring"]);
    // Backup settings merge deeply: staging overrides schedule and retain, keeps the default destination.
    expect(byName.get("staging-eu-1")?.backup.etcd).toEqual({
      schedule: "30 */12 * * *",
      retain: 14,
      beforeUpgrade: true,
      destination: { hostPath: "/var/backups/etcd" },
    });
    expect(byName.get("prod-eu-1")?.windows).toEqual(["prod-eu-nights", "year-end-freeze"]);
  });

  it("bosun validate fleet-example exits 0 and prints the summary", async () => {
    let code = 0;
    let out = "";
    const program = new Command().exitOverride();
    program.addCommand(validateCommand(commandContext((c) => (code = c)), (t) => (out += t)));
    await program.parseAsync(["validate", EXAMPLE], { from: "user" });
    expect(code).toBe(0);
    expect(out).toContain("fleet acme is valid: 4 clusters in 3 waves, 3 add-ons");
    expect(out).toMatch(/prod-eu-1\s+kubernetes 1\.34\.4\s+kubeadm\s+3 control-plane in eu-1a\/eu-1b\/eu-1c/);
  });

  it("bosun validate -o json on an invalid fleet exits 1 with structured errors", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-invalid-"));
    try {
      await fs.writeFile(`${dir}/fleet.yaml`, "apiVersion: bosun.dev/v1alpha1\nkind: Fleet\nmetadata: { name: x }\nspec: { rollout: { waves: [] } }\n");
      let code = 0;
      let out = "";
      const program = new Command().exitOverride();
      program.addCommand(validateCommand(commandContext((c) => (code = c)), (t) => (out += t)));
      await program.parseAsync(["validate", dir, "-o", "json"], { from: "user" });
      expect(code).toBe(1);
      expect(JSON.parse(out)).toEqual({
        valid: false,
        errors: [{ file: "fleet.yaml", line: 4, col: 20, path: "spec.rollout.waves", severity: "error", message: "must have at least 1 entry" }],
        warnings: [],
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("renders a summary with soak and window durations as written", async () => {
    const result = await loadFleet(EXAMPLE);
    if (!result.ok) throw new Error("fleet-example is invalid");
    const text = renderValid("fleet-example", result.value, []);
    expect(text).toContain("wave staging (2 at a time, soak 30m)");
    expect(text).toContain('window year-end-freeze: deny "0 0 20 12 *" for 336h (UTC)');
  });
});
