/**
 * `bosun sandbox …`: thin commands over `src/sandbox/`. Parse flags, call one function, print, exit.
 */
import path from "node:path";
import { Command, Option } from "commander";
import { UsageError } from "../errors.js";
import { DEFAULT_SANDBOX_NAME, DEFAULT_SANDBOX_ROOT, sandboxLayout } from "../sandbox/layout.js";
import { BINARIES_FOR, BINARY_USES, isBinaryUse } from "../sandbox/binaries/catalog.js";
import type { SandboxHealth } from "../sandbox/status.js";
import type { CommandContext } from "./context.js";
import { EXIT_FAILURE } from "./exit.js";
import { checkDirectoryFlag } from "./files.js";
import { print, printError, printJson } from "./output.js";
import { asUsage } from "./usage.js";

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
  printError(`sandbox: ${line}\n`);
};

// The same rule as the sandbox's own (src/sandbox/up.ts), checked before anything starts.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks `up`'s flags: cluster names, a source of clusters, `--from` a directory. */
async function checkUpFlags(opts: { clusters?: string[]; from?: string }): Promise<void> {
  for (const name of opts.clusters ?? []) {
    if (!DNS_LABEL.test(name) || name.length > 63) throw new UsageError(`--clusters: ${JSON.stringify(name)} is not a DNS-1123 label`);
  }
  if (new Set(opts.clusters).size !== (opts.clusters ?? []).length) throw new UsageError("--clusters: duplicate cluster name");
  if (opts.from !== undefined) await checkDirectoryFlag("--from", opts.from);
  else if (!opts.clusters || opts.clusters.length === 0) throw new UsageError("sandbox up needs --clusters a,b,… or --from DIR (a directory with sandbox.yaml)");
}

function rootOption(): Option {
  return new Option("--root <dir>", "parent directory of sandboxes").default(DEFAULT_SANDBOX_ROOT).env("BOSUN_SANDBOX_ROOT");
}

function nameOption(): Option {
  return new Option("--name <name>", "sandbox name").default(DEFAULT_SANDBOX_NAME);
}

/** Builds the `sandbox` command group. */
export function sandboxCommand(context: CommandContext): Command {
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
      asUsage(() => sandboxLayout(opts.root, opts.name));
      await checkUpFlags(opts);
      if (context.checkOnly) return;
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
      print(`export KUBECONFIG=${path.relative(process.cwd(), kubeconfig) || kubeconfig}\n`);
      for (const c of state.clusters) print(`# context ${c.name}: ${c.server}\n`);
    });

  sandbox
    .command("down")
    .description("stop the sandbox's processes and remove its state")
    .addOption(nameOption())
    .addOption(rootOption())
    .action(async (opts: { name: string; root: string }) => {
      asUsage(() => sandboxLayout(opts.root, opts.name));
      if (context.checkOnly) return;
      const { sandboxDown } = await load.down();
      const result = await sandboxDown(opts.root, opts.name);
      print(
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
      asUsage(() => sandboxLayout(opts.root, opts.name));
      if (context.checkOnly) return;
      const { sandboxStatus } = await load.status();
      const health = await sandboxStatus(opts.root, opts.name);
      if (!health) {
        if (opts.output === "json") print(`${JSON.stringify({ name: opts.name, running: false })}\n`);
        else print(`sandbox ${opts.name} is not running\n`);
        context.setExitCode(EXIT_FAILURE);
        return;
      }
      if (opts.output === "json") printJson(health);
      else print(renderStatus(health));
      if (!health.healthy) context.setExitCode(EXIT_FAILURE);
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
      if (context.checkOnly) return;
      const wanted = use !== undefined ? BINARIES_FOR[use] : names.length > 0 ? names.filter(isBinaryName) : allBinaryNames();
      const paths = await ensureBinaries(wanted, progress);
      for (const [name, file] of Object.entries(paths)) print(`${name.padEnd(24)} ${file}\n`);
    });

  // Started by `up` as one of the sandbox's processes; not for direct use.
  sandbox
    .command("agent", { hidden: true })
    .requiredOption("--dir <dir>", "sandbox directory")
    .action(async (opts: { dir: string }) => {
      if (context.checkOnly) return;
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
        print(`${new Date().toISOString()} ${line}\n`);
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
