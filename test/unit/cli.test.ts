/**
 * The CLI's contract for bad input: usage errors (a bad flag, a bad flag value, a path given on the
 * command line that does not exist) exit 2, invalid input (a fleet or file that is wrong) exits 1 with a
 * message naming the problem, and nothing is started. Runs the built CLI (`npm test` builds before the
 * unit tests).
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { reportError } from "../../src/cli/exit.js";
import { InvalidInputError, UsageError } from "../../src/errors.js";

const CLI = path.resolve(import.meta.dirname, "../../dist/cli/main.js");

async function bosun(args: string[], cwd?: string) {
  return execa(process.execPath, [CLI, ...args], { reject: false, cwd });
}

describe("bosun CLI", () => {
  it.each([
    [["no-such-command"]],
    [["sandbox", "up", "--mode", "huge", "--clusters", "a"]],
    [["sandbox", "status", "--bogus"]],
    [["sandbox", "binaries", "not-a-binary"]],
    [["sandbox", "binaries", "--for", "everything"]],
    [["sandbox", "binaries", "helm", "--for", "plan"]],
  ])("exits 2 for the usage error %j", async (args) => {
    const result = await bosun(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/error|unknown|invalid/i);
  });

  it.each([
    [["plan", "--repo", "https://git.example/fleet.git"], "--repo and --ref go together"],
    [["plan", "--fleet", ".", "--repo", "https://git.example/f.git", "--ref", "main"], "give either --fleet or --repo, not both"],
    [["plan", "--timeout", "soon"], "--timeout:"],
    [["apply", "--yes", "--timeout", "soon"], "--timeout:"],
    [["apply", "--fleet", "."], "pass --yes"],
    [["apply", "--yes", "--plan", "plan.json", "--fleet", "."], "give one of --fleet, --repo or --plan"],
    [["plan", "-o", "yaml"], "-o, --output"],
    [["plan", "--fleet", "/nonexistent-fleet"], '--fleet "/nonexistent-fleet": no such directory'],
    [["plan", "--repo", "ssh://git.example/f.git", "--ref", "main"], '--repo "ssh://git.example/f.git": SSH is refused'],
    [["plan", "--repo", "https://git.example/f.git", "--ref", "a..b"], '--ref "a..b": contains ".."'],
    [["apply", "--yes", "--plan", "/nonexistent-plan.json"], '--plan "/nonexistent-plan.json": no such file or directory'],
  ])("plan and apply refuse %j before reading anything", async (args, message) => {
    const result = await bosun(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("plan exits 2 naming an unknown --cluster (a bad flag value), and reports an invalid fleet as JSON with -o json", async () => {
    const unknown = await bosun(["plan", "--fleet", path.resolve(import.meta.dirname, "../../fleet-example"), "--cluster", "nope"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("--cluster nope: not in fleet acme");
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-cli-"));
    try {
      await fs.writeFile(path.join(dir, "fleet.yaml"), "apiVersion: bosun.dev/v1alpha1\nkind: Fleet\nmetadata: { name: Bad_Name }\nspec: {}\n");
      const invalid = await bosun(["plan", "--fleet", dir, "-o", "json"]);
      expect(invalid.exitCode).toBe(1);
      const body = JSON.parse(invalid.stdout) as { valid: boolean; errors: { file: string; line: number }[] };
      expect(body.valid).toBe(false);
      expect(body.errors[0]).toMatchObject({ file: "fleet.yaml", line: 3 });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 and names the flag for a bad sandbox flag value, starting nothing", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-cli-"));
    try {
      const result = await bosun(["sandbox", "up", "--clusters", "Bad_Name", "--root", root]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('--clusters: "Bad_Name" is not a DNS-1123 label');
      expect(await fs.readdir(root)).toEqual([]);
      const none = await bosun(["sandbox", "up", "--root", root]);
      expect(none.exitCode).toBe(2);
      expect(none.stderr).toContain("needs --clusters");
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it("reports a bad sandbox.yaml with file:line:col and starts nothing", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-cli-"));
    try {
      await fs.writeFile(path.join(dir, "sandbox.yaml"), "apiVersion: bosun.dev/v1alpha1\nkind: Sandbox\nclusters:\n  - name: x\n    kubernetesVersion: latest\n    nodes: []\n");
      const result = await bosun(["sandbox", "up", "--from", dir, "--root", path.join(dir, "root")]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`${path.join(dir, "sandbox.yaml")}:5:24: kubernetesVersion must be a version`);
      expect(result.stderr).toContain("nodes must be a non-empty list (at clusters[0].nodes)");
      await expect(fs.access(path.join(dir, "root"))).rejects.toThrow();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("maps errors to exit codes in one place, and calls anything unexpected a bug", () => {
    const out: string[] = [];
    expect(reportError(new UsageError("bad flag"), (t) => out.push(t))).toBe(2);
    expect(reportError(new InvalidInputError("bad file"), (t) => out.push(t))).toBe(1);
    expect(reportError(new TypeError("oops"), (t) => out.push(t))).toBe(1);
    expect(out[0]).toBe("bosun: bad flag\n");
    expect(out[2]).toContain("internal error (a bug in bosun");
  });
});

describe("bosun sandbox binaries", () => {
  it("explains a missing Go toolchain and names BOSUN_BIN_DIR", async () => {
    const cache = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-nogo-"));
    try {
      const result = await execa(process.execPath, [CLI, "sandbox", "binaries", "kustomize"], {
        reject: false,
        env: { BOSUN_GO: path.join(cache, "no-go-here"), BOSUN_CACHE_DIR: cache, PATH: cache },
        extendEnv: false,
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain("the Go toolchain is not installed");
      expect(result.stderr).toContain("set BOSUN_BIN_DIR");
      expect(await fs.readdir(cache)).toEqual([]);
    } finally {
      await fs.rm(cache, { recursive: true, force: true });
    }
  });

  it("--for plan ensures exactly the tools plan resolves", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bindir-"));
    try {
      await fs.writeFile(path.join(dir, "kustomize"), "#!/bin/sh\necho v5.0.0\n", { mode: 0o755 });
      await fs.writeFile(path.join(dir, "helm"), "#!/bin/sh\necho v4.0.0\n", { mode: 0o755 });
      const result = await execa(process.execPath, [CLI, "sandbox", "binaries", "--for", "plan"], {
        reject: false,
        env: { BOSUN_BIN_DIR: dir },
      });
      expect(result.exitCode).toBe(0);
      expect(result.stdout.trim().split("\n").map((line) => line.split(/\s+/)[0])).toEqual(["kustomize", "helm"]);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("uses BOSUN_BIN_DIR first and trusts what is there", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-bindir-"));
    try {
      await fs.writeFile(path.join(dir, "kustomize"), "#!/bin/sh\necho v5.0.0\n", { mode: 0o755 });
      const result = await execa(process.execPath, [CLI, "sandbox", "binaries", "kustomize"], {
        reject: false,
        env: { BOSUN_BIN_DIR: dir },
      });
      expect(result.exitCode).toBe(0);
      expect(result.stdout.trim()).toBe(`kustomize                ${path.join(dir, "kustomize")}`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
