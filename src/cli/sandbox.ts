/**
 * `bosun sandbox …`: thin commands over `src/sandbox/`. Parse flags, call one function, print, exit.
 */
import path from "node:path";
import { Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { DEFAULT_SANDBOX_NAME, DEFAULT_SANDBOX_ROOT, sandboxLayout } from "../sandbox/layout.js";
import { BINARIES_FOR, BINARY_USES, isBinaryUse } from "../sandbox/binaries/catalog.js";
import type { SandboxHealth } from "../sandbox/status.js";

// The sandbox's modules (Kubernetes client, PKI) load only when a sandbox command runs, so other
// commands start fast.
const load = {
  up: () => import("../sandbox/up.js"),
  down: () => import("../sandbox/down.js"),
  status: () => import("../sandbox/status.js"),
  state: () => import("../sandbox/state.js"),
  agent: () => import("../sandbox/agent.js"),
  binaries: () => import("../sandbox/binaries/build.js"),
};

const progress = (line: string): void => {
  process.stderr.write(`sandbox: ${line}\n`);
};

function rootOption(): Option {
  return new Option("--root <dir>", "parent directory of sandboxes").default(DEFAULT_SANDBOX_ROOT).env("BOSUN_SANDBOX_ROOT");
}

function nameOption(): Option {
  return new Option("--name <name>", "sandbox name").default(DEFAULT_SANDBOX_NAME);
}

/** Builds the `sandbox` command group. */
export function sandboxCommand(setExitCode: (code: number) => void): Command {
  const sandbox = new Command("sandbox").description("local Kubernetes control planes for demos and tests");

  sandbox
    .command("up")
    .description("start etcd and one kube-apiserver per cluster (full mode: plus controllers, scheduler, kwok)")
    .option("--clusters <names>", "comma-separated cluster names", (v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .option("--from <dir>", "seed clusters from DIR/sandbox.yaml (versions, nodes, zones)")
    .addOption(new Option("--mode <mode>", "lite: API servers only; full: Deployments roll out, Jobs complete").choices(["lite", "full"]).default("lite"))
    .addOption(nameOption())
    .addOption(rootOption())
    .action(async (opts: { clusters?: string[]; from?: string; mode: "lite" | "full"; name: string; root: string }) => {
      const { sandboxUp } = await load.up();
      // Ctrl-C or SIGTERM while starting: stop what was started rather than leave it running detached.
      const controller = new AbortController();
      const interrupt = (): void => {
        progress("interrupted; stopping what was started");
        controller.abort();
      };
      process.once("SIGINT", interrupt);
      process.once("SIGTERM", interrupt);
      const state = await sandboxUp({
        root: opts.root,
        name: opts.name,
        mode: opts.mode,
        ...(opts.clusters ? { clusters: opts.clusters } : {}),
        ...(opts.from ? { from: opts.from } : {}),
        progress,
        signal: controller.signal,
      }).finally(() => {
        process.off("SIGINT", interrupt);
        process.off("SIGTERM", interrupt);
      });
      const kubeconfig = sandboxLayout(opts.root, opts.name).kubeconfig;
      process.stdout.write(`export KUBECONFIG=${path.relative(process.cwd(), kubeconfig) || kubeconfig}\n`);
      for (const c of state.clusters) process.stdout.write(`# context ${c.name}: ${c.server}\n`);
    });

  sandbox
    .command("down")
    .description("stop the sandbox's processes and remove its state")
    .addOption(nameOption())
    .addOption(rootOption())
    .action(async (opts: { name: string; root: string }) => {
      const { sandboxDown } = await load.down();
      const result = await sandboxDown(opts.root, opts.name);
      process.stdout.write(
        result.found ? `sandbox ${opts.name} stopped (${result.stopped} processes) and removed\n` : `sandbox ${opts.name} is not running\n`,
      );
    });

  sandbox
    .command("status")
    .description("show every cluster's health")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .addOption(nameOption())
    .addOption(rootOption())
    .action(async (opts: { output: "text" | "json"; name: string; root: string }) => {
      const { sandboxStatus } = await load.status();
      const health = await sandboxStatus(opts.root, opts.name);
      if (!health) {
        if (opts.output === "json") process.stdout.write(`${JSON.stringify({ name: opts.name, running: false })}\n`);
        else process.stdout.write(`sandbox ${opts.name} is not running\n`);
        setExitCode(1);
        return;
      }
      process.stdout.write(opts.output === "json" ? `${JSON.stringify(health, null, 2)}\n` : renderStatus(health));
      if (!health.healthy) setExitCode(1);
    });

  sandbox
    .command("binaries")
    .argument("[names...]", "only these binaries (default: all the sandbox and tests use; kubectl on request)")
    .option("--for <use>", `the binaries one use needs: ${BINARY_USES.join(", ")}`)
    .description("locate or build (once, cached) the binaries the sandbox and tests use, and print their paths")
    .action(async (names: string[], opts: { for?: string }) => {
      const { allBinaryNames, ensureBinaries, isBinaryName } = await load.binaries();
      const unknown = names.filter((n) => !isBinaryName(n));
      if (unknown.length > 0) throw new UsageError(`unknown binary: ${unknown.join(", ")}`);
      if (opts.for !== undefined && names.length > 0) throw new UsageError("invalid arguments: give binary names or --for, not both");
      const use = opts.for;
      if (use !== undefined && !isBinaryUse(use)) throw new UsageError(`--for: unknown use "${use}" (one of ${BINARY_USES.join(", ")})`);
      const wanted = use !== undefined ? BINARIES_FOR[use] : names.length > 0 ? names.filter(isBinaryName) : allBinaryNames();
      const paths = await ensureBinaries(wanted, progress);
      for (const [name, file] of Object.entries(paths)) process.stdout.write(`${name.padEnd(24)} ${file}\n`);
    });

  // Started by `up` as one of the sandbox's processes; not for direct use.
  sandbox
    .command("agent", { hidden: true })
    .requiredOption("--dir <dir>", "sandbox directory")
    .action(async (opts: { dir: string }) => {
      const layout = sandboxLayout(path.dirname(opts.dir), path.basename(opts.dir));
      const [{ readState }, { runAgent }] = await Promise.all([load.state(), load.agent()]);
      const state = await readState(layout);
      if (!state) throw new UsageError(`no sandbox state in ${opts.dir}`);
      const controller = new AbortController();
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        process.once(signal, () => {
          controller.abort();
        });
      }
      const log = (line: string): void => {
        process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      };
      await runAgent(layout.kubeconfig, state.clusters.map((c) => c.name), controller.signal, log);
    });

  return sandbox;
}

/** Renders `sandbox status` for a terminal. */
export function renderStatus(health: SandboxHealth): string {
  const lines = [
    `sandbox ${health.name} (${health.mode} mode, since ${health.createdAt})`,
    `kubeconfig ${health.kubeconfig}`,
    `etcd: ${health.etcd.healthy ? "healthy" : "NOT HEALTHY"} (pid ${health.etcd.pid}, port ${health.etcd.port ?? "?"})` +
      (health.agent ? `   node agent: ${health.agent.running ? "running" : "NOT RUNNING"} (pid ${health.agent.pid})` : ""),
    "",
  ];
  const rows = [["CLUSTER", "READY", "VERSION", "NODES", "SERVER", "PROCESSES"]];
  for (const c of health.clusters) {
    const down = c.processes.filter((p) => !p.running).map((p) => p.component);
    rows.push([
      c.name,
      c.ready ? "yes" : "no",
      c.version ?? "-",
      c.nodes === undefined ? "-" : String(c.nodes),
      c.server,
      down.length === 0 ? `${c.processes.length} running` : `down: ${down.join(",")}`,
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  for (const row of rows) lines.push(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd());
  return `${lines.join("\n")}\n`;
}
