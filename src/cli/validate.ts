/**
 * `bosun validate [DIR]`: loads a fleet directory and prints every problem as `file:line:col: message (at
 * path)`, or a short summary of the valid fleet. Exit 0 valid, 1 invalid, 2 usage error (DIR missing or
 * not a directory). Everything printed is escaped: names and problems quote the repository's content.
 */
import { Command, Option } from "commander";
import { visibleJson, visibleLine } from "../report/format.js";
import { formatDuration } from "../spec/duration.js";
import { formatIssue, type SpecIssue } from "../spec/issues.js";
import { loadFleet } from "../spec/load.js";
import type { DesiredCluster, DesiredFleet } from "../spec/types.js";
import type { CommandContext } from "./context.js";
import { EXIT_FAILURE } from "./exit.js";
import { checkDirectoryFlag } from "./files.js";
import { print } from "./output.js";
import { trustSelection, withTrustFlags, type TrustFlags } from "./trust-flags.js";

/** Builds the `validate` command. `write` receives its output (stdout unless a test passes its own). */
export function validateCommand(context: CommandContext, write: (text: string) => void = print): Command {
  return withTrustFlags(
    new Command("validate")
      .description("check a fleet directory (fleet.yaml, clusters/) and print every error with file:line:col")
      .argument("[dir]", "fleet directory", ".")
      .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text")),
    { plugins: false },
  ).action(async (dir: string, opts: { output: "text" | "json" } & TrustFlags) => {
    const { policy } = trustSelection(opts, process.env);
    await checkDirectoryFlag("validate", dir);
    if (context.checkOnly) return;
    const result = await loadFleet(dir, { policy });
    if (opts.output === "json") {
      const body = result.ok
        ? { valid: true, fleet: result.value, warnings: result.warnings }
        : { valid: false, errors: result.errors, warnings: result.warnings };
      write(`${visibleJson(JSON.stringify(body, null, 2))}\n`);
    } else {
      write(result.ok ? renderValid(dir, result.value, result.warnings) : renderInvalid(dir, result.errors, result.warnings));
    }
    if (!result.ok) context.setExitCode(EXIT_FAILURE);
  });
}

/**
 * Renders the problems of an invalid fleet, one per line, then a count. Each line is escaped whole
 * (newlines too): a problem quotes the bad value, which must neither drive the terminal nor forge a line.
 */
export function renderInvalid(dir: string, errors: readonly SpecIssue[], warnings: readonly SpecIssue[]): string {
  const lines = [...errors.map(formatIssue), ...warnings.map((w) => `warning: ${formatIssue(w)}`)];
  lines.push(`${displayDir(dir)}: ${plural(errors.length, "error")}${warnings.length > 0 ? `, ${plural(warnings.length, "warning")}` : ""}; nothing was loaded`);
  return `${lines.map(visibleLine).join("\n")}\n`;
}

/** Renders the summary of a valid fleet: clusters per wave with version, driver and add-ons, then windows. */
export function renderValid(dir: string, fleet: DesiredFleet, warnings: readonly SpecIssue[]): string {
  const addons = new Set(fleet.clusters.flatMap((c) => c.addons.map((a) => a.name)));
  const lines = [
    `${displayDir(dir)}: fleet ${fleet.name} is valid: ${plural(fleet.clusters.length, "cluster")} in ${plural(fleet.waves.length, "wave")}, ${plural(addons.size, "add-on")}`,
  ];
  const byName = new Map(fleet.clusters.map((c) => [c.name, c]));
  const width = Math.max(0, ...fleet.clusters.map((c) => c.name.length));
  for (const wave of fleet.waves) {
    const soak = wave.soakSeconds > 0 ? `, soak ${formatDuration(wave.soakSeconds)}` : "";
    lines.push(`wave ${wave.name} (${wave.maxConcurrent} at a time${soak}${wave.apply === "manual" ? ", manual: the daemon waits for bosun approve" : ""})`);
    for (const name of wave.clusters) {
      const cluster = byName.get(name);
      if (cluster) lines.push(`  ${name.padEnd(width)}  ${describeCluster(cluster)}`);
    }
  }
  for (const window of fleet.windows) {
    lines.push(`window ${window.name}: ${window.kind} "${window.schedule}" for ${formatDuration(window.durationSeconds)} (${window.timeZone}) on ${window.clusters.join(", ") || "no cluster"}`);
  }
  lines.push(...warnings.map((w) => `warning: ${formatIssue(w)}`));
  return `${lines.map(visibleLine).join("\n")}\n`;
}

function describeCluster(c: DesiredCluster): string {
  const cp = c.topology.controlPlane;
  const parts = [
    `kubernetes ${c.kubernetes.version}`,
    c.provider.kind,
    `${cp.replicas} control-plane${cp.zones.length > 0 ? ` in ${cp.zones.join("/")}` : ""}`,
    c.backup.etcd ? `backup "${c.backup.etcd.schedule}"` : "no backup",
    `add-ons: ${c.addons.map((a) => a.name).join(", ") || "none"}`,
  ];
  return parts.join("  ");
}

function displayDir(dir: string): string {
  return dir;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
