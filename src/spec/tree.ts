/**
 * The loader's only I/O: reading the fleet directory it is given. Spec files are found, size-checked and
 * read; paths the spec names are resolved with realpath and must stay inside the directory; only regular
 * files are ever opened; and every directory walked is refused as a whole past its entry limit (never
 * checked only in part). Everything else in `src/spec/` works on what this module returns.
 */
import type { Dirent } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { readRegularFile } from "../bounded-file.js";
import { describeYamlProblem, parseSingleYaml, type YamlBudget } from "../bounded-yaml.js";
import { yamlLimits, type SpecLimits } from "./limits.js";

/** A spec file's text, with its path relative to the fleet directory. */
export interface SpecFile {
  file: string;
  text: string;
}

/** The spec files of a fleet directory, or why they could not all be read (as file-level problems). */
export interface SpecFiles {
  /** The fleet directory after realpath: containment is judged against it. */
  root: string;
  files: SpecFile[];
  problems: { file: string; message: string }[];
  /** True when the tree was refused as a whole (too many files, entries or bytes): no file was read. */
  refused: boolean;
}

/** The name of the fleet file at the root of the directory. */
export const FLEET_FILE = "fleet.yaml";
/** The directory holding cluster files, searched recursively for *.yaml and *.yml. */
export const CLUSTERS_DIR = "clusters";

/** Reads fleet.yaml and every clusters/**\/*.yaml file, in a stable (sorted) order. */
export async function readSpecFiles(dir: string, limits: SpecLimits): Promise<SpecFiles> {
  const root = await fs.realpath(dir);
  const problems: SpecFiles["problems"] = [];
  const listed = await listClusterFiles(root, limits, problems);
  if (listed === undefined) return { root, files: [], problems, refused: true };
  const names = [FLEET_FILE, ...listed.sort()];
  if (names.length > limits.maxFiles) {
    problems.push({ file: CLUSTERS_DIR, message: `more than ${limits.maxFiles} spec files; bosun reads at most ${limits.maxFiles}` });
    return { root, files: [], problems, refused: true };
  }
  // Sizes first, so the total is refused before anything is read into memory.
  const resolved = await Promise.all(names.map((file) => resolveContained(root, file)));
  const total = resolved.reduce((sum, r) => sum + (r.ok && r.kind === "file" ? r.size : 0), 0);
  if (total > limits.maxTotalBytes) {
    problems.push({ file: CLUSTERS_DIR, message: `the spec files hold ${total} bytes; bosun reads at most ${limits.maxTotalBytes} bytes of spec in total` });
    return { root, files: [], problems, refused: true };
  }
  const files = await Promise.all(
    names.map(async (file): Promise<SpecFile | undefined> => {
      const result = await readContained(root, file, limits.maxFileBytes);
      if ("problem" in result) {
        if (file === FLEET_FILE && result.missing) problems.push({ file, message: `no ${FLEET_FILE} in the fleet directory` });
        else problems.push({ file, message: result.problem });
        return undefined;
      }
      return { file, text: result.text };
    }),
  );
  return { root, files: files.filter((f): f is SpecFile => f !== undefined), problems, refused: false };
}

/**
 * Every *.yaml and *.yml under clusters/, or undefined when clusters/ cannot be used at all (a problem is
 * recorded). clusters/ itself must resolve inside the fleet directory; links below it are not followed
 * into directories (a link to a file is read through `readContained`, which checks where it leads); and
 * the walk stops, refusing the whole directory, after `maxTreeEntries` entries.
 */
async function listClusterFiles(root: string, limits: SpecLimits, problems: SpecFiles["problems"]): Promise<string[] | undefined> {
  const top = await resolveContained(root, CLUSTERS_DIR);
  // A fleet without clusters/ is allowed (it is simply empty).
  if (!top.ok && top.missing) return [];
  if (!top.ok) {
    problems.push({ file: CLUSTERS_DIR, message: top.problem });
    return undefined;
  }
  if (top.kind !== "directory") {
    problems.push({ file: CLUSTERS_DIR, message: `"${CLUSTERS_DIR}" is not a directory` });
    return undefined;
  }
  const out: string[] = [];
  const pending = [CLUSTERS_DIR];
  let seen = 0;
  while (pending.length > 0) {
    const current = pending.shift() ?? "";
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(root, current), { withFileTypes: true });
    } catch (error) {
      problems.push({ file: current, message: `cannot read directory: ${(error as NodeJS.ErrnoException).code ?? "error"}` });
      continue;
    }
    seen += entries.length;
    if (seen > limits.maxTreeEntries) {
      problems.push({ file: CLUSTERS_DIR, message: `"${CLUSTERS_DIR}" holds more than ${limits.maxTreeEntries} entries; bosun refuses larger trees` });
      return undefined;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const child = `${current}/${entry.name}`;
      if (entry.isDirectory()) pending.push(child);
      else if (/\.ya?ml$/.test(entry.name)) {
        if (entry.isFile() || entry.isSymbolicLink()) out.push(child);
        else problems.push({ file: child, message: `"${child}" is ${specialKind(entry)}, not a regular file` });
      }
    }
  }
  return out;
}

/** What a non-regular directory entry is, for messages. */
function specialKind(entry: { isFIFO(): boolean; isSocket(): boolean; isBlockDevice(): boolean; isCharacterDevice(): boolean }): string {
  if (entry.isFIFO()) return "a named pipe (FIFO)";
  if (entry.isSocket()) return "a socket";
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return "a device";
  return "not a file or directory";
}

/** Result of resolving a path named in the spec. */
export type Resolved =
  | { ok: true; real: string; kind: "file" | "directory" | "special"; isDirectory: boolean; size: number }
  | { ok: false; problem: string; missing: boolean };

/**
 * Resolves a path relative to the fleet directory and checks it stays inside: no absolute path, no `..`
 * that climbs out, and no symlink whose target is outside (checked on the realpath, which follows them all).
 * `kind: "special"` is a named pipe, socket or device, which bosun never opens.
 */
export async function resolveContained(root: string, written: string): Promise<Resolved> {
  if (path.isAbsolute(written) || path.win32.isAbsolute(written) || written.startsWith("~")) {
    return { ok: false, missing: false, problem: `"${written}" is an absolute path: name a path relative to the fleet directory` };
  }
  const normal = path.posix.normalize(written.replaceAll("\\", "/"));
  if (normal === ".." || normal.startsWith("../")) {
    return { ok: false, missing: false, problem: `"${written}" leaves the fleet directory` };
  }
  let real: string;
  try {
    real = await fs.realpath(path.join(root, normal));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, missing: true, problem: `"${written}" does not exist in the fleet directory` };
    if (code === "ELOOP") return { ok: false, missing: false, problem: `"${written}" is a symlink loop` };
    return { ok: false, missing: false, problem: `cannot resolve "${written}": ${code ?? "error"}` };
  }
  if (!isInside(root, real)) {
    return { ok: false, missing: false, problem: `"${written}" is a symlink to a place outside the fleet directory` };
  }
  const stat = await fs.stat(real);
  const kind = stat.isFile() ? "file" : stat.isDirectory() ? "directory" : "special";
  return { ok: true, real, kind, isDirectory: kind === "directory", size: stat.size };
}

/**
 * Reads a file named relative to the fleet directory, after the containment check: it must be a regular
 * file (a named pipe would block the read forever, a device never end) of at most `maxBytes`. The read
 * itself stops after `maxBytes + 1` bytes, whatever the file claims its size is.
 */
export async function readContained(
  root: string,
  written: string,
  maxBytes: number,
): Promise<{ text: string } | { problem: string; missing: boolean }> {
  const resolved = await resolveContained(root, written);
  if (!resolved.ok) return { problem: resolved.problem, missing: resolved.missing };
  if (resolved.kind === "directory") return { problem: `"${written}" is a directory, not a file`, missing: false };
  if (resolved.kind === "special") return { problem: `"${written}" is not a regular file (a named pipe, socket or device)`, missing: false };
  if (resolved.size > maxBytes) return { problem: `"${written}" is larger than ${maxBytes} bytes`, missing: false };
  const read = await readRegularFile(resolved.real, maxBytes, { noFollow: true });
  if (!read.ok) return { problem: `"${written}" is not a regular file of at most ${maxBytes} bytes`, missing: false };
  return { text: read.text };
}

/** What a walk of a chart or kustomize directory found. */
export interface TreeCheck {
  /** Links (relative to the fleet directory) that lead outside it, or nowhere. */
  escapes: string[];
  /** Named pipes, sockets and devices (relative to the fleet directory), directly or through a link. */
  special: string[];
  /** True when the tree has more than the limit of entries: it was refused, not checked in part. */
  overLimit: boolean;
}

/**
 * Walks a directory of the fleet that helm or kustomize will read and reports what makes it unsafe: a
 * symlink leading outside the fleet directory (helm and kustomize follow links, so a link inside an
 * otherwise contained directory is an escape too), and anything that is not a regular file, directory or
 * link (a named pipe hangs whoever reads it). A link to a directory inside the fleet is followed (once),
 * because what is under it is read too. Entries are counted across everything walked; past `maxEntries`
 * the walk stops and the tree is refused as a whole.
 */
export async function checkTree(root: string, dir: string, maxEntries: number): Promise<TreeCheck> {
  const result: TreeCheck = { escapes: [], special: [], overLimit: false };
  const visited = new Set<string>([dir]);
  const pending = [dir];
  let seen = 0;
  const relative = (full: string): string => path.relative(root, full).split(path.sep).join("/");
  while (pending.length > 0) {
    const current = pending.shift() ?? dir;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(current, { withFileTypes: true });
    } catch {
      result.special.push(relative(current));
      continue;
    }
    seen += entries.length;
    if (seen > maxEntries) {
      result.overLimit = true;
      return result;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isSymbolicLink()) {
        const target = await fs.realpath(full).catch(() => undefined);
        if (target === undefined || !isInside(root, target)) {
          result.escapes.push(relative(full));
          continue;
        }
        const stat = await fs.stat(target);
        if (stat.isDirectory()) {
          if (!visited.has(target)) {
            visited.add(target);
            pending.push(target);
          }
        } else if (!stat.isFile()) result.special.push(relative(full));
      } else if (!entry.isFile()) result.special.push(relative(full));
    }
  }
  return result;
}

/** Whether `real` (a realpath) is `root` or inside it. */
function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root + path.sep);
}

/** `name` and `version` of a local chart's Chart.yaml, or why it cannot be read. */
export interface ChartMeta {
  name: string | null;
  version: string | null;
  problem?: string;
}

/**
 * Reads `name` and `version` from the Chart.yaml of the chart directory `chartDir` (written relative to
 * the fleet directory). Chart.yaml goes through the same containment, regular-file and size checks as
 * every file the spec names, and is parsed within the YAML limits and the run's budget.
 */
export async function readChartMeta(root: string, chartDir: string, limits: SpecLimits, budget: YamlBudget): Promise<ChartMeta> {
  const read = await readContained(root, `${chartDir}/Chart.yaml`, limits.maxFileBytes);
  if ("problem" in read) {
    return { name: null, version: null, problem: read.missing ? "has no Chart.yaml: it is not a Helm chart directory" : `Chart.yaml: ${read.problem}` };
  }
  const parsed = parseSingleYaml(read.text, { limits: yamlLimits(limits), budget });
  if (!parsed.ok) return { name: null, version: null, problem: `Chart.yaml is not valid YAML: ${describeYamlProblem(parsed.problem)}` };
  const value = parsed.value;
  const get = (key: string): string | null => {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return null;
    const v = (value as Record<string, unknown>)[key];
    return typeof v === "string" ? v : null;
  };
  return { name: get("name"), version: get("version") };
}
