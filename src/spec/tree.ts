/**
 * The loader's only I/O: reading the fleet directory it is given. Spec files are found, size-checked and
 * read; paths the spec names are resolved with realpath and must stay inside the directory. Everything else
 * in `src/spec/` works on what this module returns.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import type { SpecLimits } from "./limits.js";

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
}

/** The name of the fleet file at the root of the directory. */
export const FLEET_FILE = "fleet.yaml";
/** The directory holding cluster files, searched recursively for *.yaml and *.yml. */
export const CLUSTERS_DIR = "clusters";

/** Reads fleet.yaml and every clusters/**\/*.yaml file, in a stable (sorted) order. */
export async function readSpecFiles(dir: string, limits: SpecLimits): Promise<SpecFiles> {
  const root = await fs.realpath(dir);
  const problems: SpecFiles["problems"] = [];
  const names = [FLEET_FILE];
  const listed = await listYaml(root, CLUSTERS_DIR, limits.maxFiles, problems);
  names.push(...listed.sort());
  if (names.length > limits.maxFiles) {
    problems.push({ file: CLUSTERS_DIR, message: `more than ${limits.maxFiles} spec files; bosun reads at most ${limits.maxFiles}` });
    return { root, files: [], problems };
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
  return { root, files: files.filter((f): f is SpecFile => f !== undefined), problems };
}

async function listYaml(root: string, rel: string, max: number, problems: SpecFiles["problems"]): Promise<string[]> {
  const out: string[] = [];
  const pending = [rel];
  while (pending.length > 0 && out.length <= max) {
    const current = pending.shift() ?? "";
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(path.join(root, current), { withFileTypes: true });
    } catch (error) {
      // A fleet without clusters/ is allowed (it is simply empty); anything else is reported.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") problems.push({ file: current, message: `cannot read directory: ${(error as Error).message}` });
      continue;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const child = `${current}/${entry.name}`;
      if (entry.isDirectory()) pending.push(child);
      else if (/\.ya?ml$/.test(entry.name) && (entry.isFile() || entry.isSymbolicLink())) out.push(child);
    }
  }
  return out;
}

/** Result of resolving a path named in the spec. */
export type Resolved =
  | { ok: true; real: string; isDirectory: boolean; size: number }
  | { ok: false; problem: string; missing: boolean };

/**
 * Resolves a path relative to the fleet directory and checks it stays inside: no absolute path, no `..`
 * that climbs out, and no symlink whose target is outside (checked on the realpath, which follows them all).
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
    return { ok: false, missing: false, problem: `cannot resolve "${written}": ${(error as Error).message}` };
  }
  if (real !== root && !real.startsWith(root + path.sep)) {
    return { ok: false, missing: false, problem: `"${written}" is a symlink to a place outside the fleet directory` };
  }
  const stat = await fs.stat(real);
  return { ok: true, real, isDirectory: stat.isDirectory(), size: stat.size };
}

/** Reads a file named relative to the fleet directory, after the containment check and a size check. */
export async function readContained(
  root: string,
  written: string,
  maxBytes: number,
): Promise<{ text: string } | { problem: string; missing: boolean }> {
  const resolved = await resolveContained(root, written);
  if (!resolved.ok) return { problem: resolved.problem, missing: resolved.missing };
  if (resolved.isDirectory) return { problem: `"${written}" is a directory, not a file`, missing: false };
  if (resolved.size > maxBytes) return { problem: `"${written}" is larger than ${maxBytes} bytes`, missing: false };
  return { text: await fs.readFile(resolved.real, "utf8") };
}

/**
 * Finds symlinks under a directory of the fleet that point outside it. Helm and kustomize follow links
 * when they read a chart or overlay, so a link inside an otherwise contained directory is an escape too.
 * Bounded by `maxEntries` so a huge directory cannot stall validation.
 */
export async function findEscapingLinks(root: string, dir: string, maxEntries: number): Promise<string[]> {
  const escapes: string[] = [];
  const pending = [dir];
  let seen = 0;
  while (pending.length > 0 && seen < maxEntries) {
    const current = pending.shift() ?? dir;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await fs.readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      seen++;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isSymbolicLink()) {
        const target = await fs.realpath(full).catch(() => undefined);
        if (target === undefined || (target !== root && !target.startsWith(root + path.sep))) escapes.push(path.relative(root, full).split(path.sep).join("/"));
      }
    }
  }
  return escapes;
}

/** Reads `name` and `version` from a local chart's Chart.yaml; nulls when they cannot be read. */
export async function readChartMeta(chartDir: string, maxBytes: number): Promise<{ name: string | null; version: string | null; problem?: string }> {
  const file = path.join(chartDir, "Chart.yaml");
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (stat.size > maxBytes) return { name: null, version: null, problem: `Chart.yaml is larger than ${maxBytes} bytes` };
    text = await fs.readFile(file, "utf8");
  } catch {
    return { name: null, version: null, problem: "has no Chart.yaml: it is not a Helm chart directory" };
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return { name: null, version: null, problem: `Chart.yaml is not valid YAML: ${doc.errors[0]?.message.split("\n")[0] ?? ""}` };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 10 }) as unknown;
  } catch {
    // toJS throws while resolving aliases: past the count (a YAML bomb) or to an anchor it cannot use.
    return { name: null, version: null, problem: "Chart.yaml is refused: it expands more than 10 aliases (a guard against YAML bombs) or has an alias that cannot be resolved" };
  }
  const get = (key: string): string | null => {
    if (typeof value !== "object" || value === null) return null;
    const v = (value as Record<string, unknown>)[key];
    return typeof v === "string" ? v : null;
  };
  return { name: get("name"), version: get("version") };
}
