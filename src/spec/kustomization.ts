/**
 * The content of every kustomization bosun will build, checked before any `kustomize build` runs: a fleet
 * repository is written by whoever opens a pull request, and kustomize follows what a kustomization names.
 *
 * From the add-on's directory the walker reads the kustomization file, then every kustomization it refers
 * to (resources, bases, components), recursively, and checks every path any of them names — resources,
 * components, bases, crds, configurations, patches, replacements, generator files and env files, the
 * OpenAPI schema — with the containment rules of every other spec path: relative, resolved from the
 * kustomization's own directory, never leaving the fleet directory by `..`, absolute path or symlink
 * (checked on the realpath by `resolveContained`). Remote resources are refused unless the operator allows
 * them, and even then only plain `https://` Git or file URLs without credentials, internal hosts or
 * option-like refs. Helm inflation (`helmCharts`, `helmGlobals`, `helmChartInflationGenerator`) and
 * plugins (`generators`, `transformers`, `validators`) are refused outright: bosun runs kustomize with
 * both disabled, and says so here with the line rather than as a build failure later.
 *
 * kustomize decodes a kustomization as JSON with Go's case-insensitive field matching, so `Resources:` is
 * `resources:` to it. Every map the walker reads therefore accepts only kustomize's field names spelled
 * exactly; any other key (a case variant, a YAML merge key `<<`, a typo) is an error, so no field can slip
 * past the walker under another spelling.
 *
 * Pure apart from reading the tree it is given, through `tree.ts`.
 */
import path from "node:path";
import { classifyUrlHost } from "./chart-repo-url.js";
import type { IssueCollector, SourcePosition } from "./issues.js";
import type { SpecLimits } from "./limits.js";
import type { RepoPolicy } from "./repo-policy.js";
import { readContained, resolveContained } from "./tree.js";
import { isObject, parseSpecFile, SourceMap, type Segment } from "./yaml.js";

/** The file names kustomize looks for in a kustomization directory. */
export const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"] as const;

/** Most kustomization files one add-on's walk reads (its own and every base and component below it). */
export const MAX_KUSTOMIZATIONS = 500;
/** Deepest chain of kustomizations referring to kustomizations. */
export const MAX_KUSTOMIZATION_DEPTH = 32;

/** How a field's value is read. */
type FieldRule =
  /** No path inside: accepted as it is (kustomize's own validation applies). */
  | "inert"
  /** A list of resource paths: files, or directories holding a kustomization (walked). */
  | "resources"
  /** A list of component directories (walked). */
  | "components"
  /** A list of file paths. */
  | "files"
  /** `patchesStrategicMerge`: a list of file paths or inline patches. */
  | "strategicMerge"
  /** A list of maps with an optional `path` to a file (patches, replacements). */
  | "pathItems"
  /** configMapGenerator / secretGenerator: `files`, `envs` and `env` are file paths. */
  | "generator"
  /** `openapi`: a map whose `path` is a file. */
  | "openapi"
  /** Helm inflation: refused. */
  | "helm"
  /** Plugins and KRM functions: refused. */
  | "plugin";

/** Every top-level field of kustomize 5's Kustomization (and Component), spelled as kustomize spells it. */
const FIELDS: Readonly<Record<string, FieldRule>> = {
  apiVersion: "inert",
  kind: "inert",
  metadata: "inert",
  openapi: "openapi",
  namePrefix: "inert",
  nameSuffix: "inert",
  namespace: "inert",
  commonLabels: "inert",
  labels: "inert",
  commonAnnotations: "inert",
  patchesStrategicMerge: "strategicMerge",
  patchesJson6902: "pathItems",
  patches: "pathItems",
  images: "inert",
  imageTags: "inert",
  replacements: "pathItems",
  replicas: "inert",
  vars: "inert",
  sortOptions: "inert",
  resources: "resources",
  components: "components",
  crds: "files",
  bases: "resources",
  configMapGenerator: "generator",
  secretGenerator: "generator",
  helmGlobals: "helm",
  helmCharts: "helm",
  helmChartInflationGenerator: "helm",
  generatorOptions: "inert",
  configurations: "files",
  generators: "plugin",
  transformers: "plugin",
  validators: "plugin",
  buildMetadata: "inert",
};

/** Fields of one item of patches / patchesJson6902 / replacements. */
const PATH_ITEM_FIELDS: Readonly<Record<string, readonly string[]>> = {
  patches: ["path", "patch", "target", "options"],
  patchesJson6902: ["path", "patch", "target", "options"],
  replacements: ["path", "source", "targets"],
};

/** Fields of one configMapGenerator / secretGenerator item. */
const GENERATOR_FIELDS: Readonly<Record<string, readonly string[]>> = {
  configMapGenerator: ["name", "namespace", "behavior", "literals", "files", "envs", "env", "options"],
  secretGenerator: ["name", "namespace", "behavior", "literals", "files", "envs", "env", "options", "type"],
};

/** Query parameters kustomize reads from a remote Git URL. */
const REMOTE_PARAMETERS = new Set(["ref", "version", "timeout", "submodules"]);

/** What the walker needs. */
export interface KustomizationCheckOptions {
  limits: SpecLimits;
  policy: RepoPolicy;
  issues: IssueCollector;
}

interface Pending {
  /** Fleet-relative directory, normalized, `/`-separated. */
  dir: string;
  depth: number;
  /** Where this directory was named (a kustomization entry, or the add-on's kustomize.path). */
  from: SourcePosition;
}

/** One kustomization file being checked. */
interface Current {
  dir: string;
  file: string;
  root: object;
  sources: SourceMap;
  depth: number;
}

/**
 * Checks the kustomization in `dir` (fleet-relative, as the spec names it) and everything it refers to.
 * Problems go to `options.issues` at the line and field of the kustomization that names them; `from` is
 * the add-on's `kustomize.path`, where problems of the directory itself are reported.
 */
export async function checkKustomization(root: string, dir: string, from: SourcePosition, options: KustomizationCheckOptions): Promise<void> {
  const walk = new Walk(root, options);
  await walk.run({ dir: normalize(dir), depth: 0, from });
}

class Walk {
  private readonly seen = new Set<string>();
  private readonly pending: Pending[] = [];
  private read = 0;

  constructor(
    private readonly root: string,
    private readonly options: KustomizationCheckOptions,
  ) {}

  private error(at: SourcePosition, message: string): void {
    this.options.issues.error(at, message);
  }

  async run(first: Pending): Promise<void> {
    this.pending.push(first);
    while (this.pending.length > 0) {
      const next = this.pending.shift();
      if (!next) break;
      await this.visit(next);
    }
  }

  private async visit(entry: Pending): Promise<void> {
    const resolved = await resolveContained(this.root, entry.dir === "" ? "." : entry.dir);
    if (!resolved.ok) return; // Reported where the directory was named.
    const realDir = path.relative(this.root, resolved.real).split(path.sep).join("/");
    if (this.seen.has(realDir)) return;
    this.seen.add(realDir);
    if (this.read >= MAX_KUSTOMIZATIONS) {
      this.error(entry.from, `more than ${MAX_KUSTOMIZATIONS} kustomizations below this one: bosun reads at most ${MAX_KUSTOMIZATIONS}`);
      this.pending.length = 0;
      return;
    }
    if (entry.depth > MAX_KUSTOMIZATION_DEPTH) {
      this.error(entry.from, `kustomizations nest deeper than ${MAX_KUSTOMIZATION_DEPTH} levels`);
      return;
    }
    const found: string[] = [];
    let refused = false;
    for (const name of KUSTOMIZATION_FILES) {
      const candidate = joinRel(entry.dir, name);
      const file = await resolveContained(this.root, candidate);
      if (file.ok) found.push(candidate);
      else if (!file.missing) {
        this.error(entry.from, `kustomization file ${file.problem}`);
        refused = true;
      }
    }
    if (refused) return;
    if (found.length === 0) {
      // The add-on's own directory is reported by the path check; a base or component is reported here.
      if (entry.depth > 0) this.error(entry.from, `"${entry.dir}" has no kustomization.yaml`);
      return;
    }
    if (found.length > 1) {
      this.error(entry.from, `"${entry.dir}" holds more than one kustomization file (${found.map((f) => path.posix.basename(f)).join(", ")}); kustomize refuses that`);
      return;
    }
    const file = found[0] ?? "";
    this.read += 1;
    const text = await readContained(this.root, file, this.options.limits.maxFileBytes);
    if ("problem" in text) {
      this.error(entry.from, `kustomization file ${text.problem}`);
      return;
    }
    const sources = new SourceMap();
    const docs = parseSpecFile(file, text.text, this.options.limits, sources, this.options.issues);
    if (docs.length === 0) return; // YAML errors are reported; an empty file is kustomize's to refuse.
    const doc = docs[0];
    if (docs.length > 1) {
      this.error(docs[1]?.at ?? entry.from, "a kustomization file holds one YAML document; kustomize reads only the first and bosun refuses the rest");
    }
    if (!doc || !isMap(doc.value)) {
      this.error(doc?.at ?? entry.from, "a kustomization must be a map of kustomize fields");
      return;
    }
    await this.checkFields({ dir: entry.dir, file, root: doc.value, sources, depth: entry.depth });
  }

  private at(current: Current, segments: readonly Segment[], key = false): SourcePosition {
    return current.sources.locate(current.root, segments, { key }) ?? { file: current.file, line: 1, col: 1, path: "" };
  }

  private async checkFields(current: Current): Promise<void> {
    const value = current.root as Record<string, unknown>;
    for (const [field, fieldValue] of Object.entries(value)) {
      const rule = Object.hasOwn(FIELDS, field) ? FIELDS[field] : undefined;
      if (rule === undefined) {
        this.error(this.at(current, [field], true), unknownField(field, Object.keys(FIELDS), "kustomization"));
        continue;
      }
      await this.checkField(current, field, rule, fieldValue);
    }
  }

  private async checkField(current: Current, field: string, rule: FieldRule, value: unknown): Promise<void> {
    const here = (...rest: Segment[]): SourcePosition => this.at(current, [field, ...rest]);
    switch (rule) {
      case "inert":
        return;
      case "helm":
        this.error(here(), `${field}: Helm chart inflation inside a kustomization is not supported: bosun runs kustomize without --enable-helm; use a helm add-on instead`);
        return;
      case "plugin":
        if (Array.isArray(value) && value.length === 0) return;
        this.error(here(), `${field}: kustomize plugins and KRM functions are not supported: bosun runs kustomize without plugins or exec functions`);
        return;
      case "openapi": {
        if (!isMap(value)) return;
        const schema = value.path;
        if (schema !== undefined) await this.checkEntry(current, [field, "path"], schema, "file");
        return;
      }
      case "resources":
      case "components":
      case "files": {
        const list = this.list(current, field, value);
        const kind = rule === "resources" ? "resource" : rule === "components" ? "component" : "file";
        for (const [i, item] of list.entries()) await this.checkEntry(current, [field, i], item, kind);
        return;
      }
      case "strategicMerge": {
        for (const [i, item] of this.list(current, field, value).entries()) {
          // kustomize reads an entry as a file when one of that name exists, else as an inline patch.
          if (typeof item === "string" && (item.includes("\n") || item.trimStart().startsWith("{"))) continue;
          await this.checkEntry(current, [field, i], item, "file");
        }
        return;
      }
      case "pathItems":
        for (const [i, item] of this.list(current, field, value).entries()) {
          if (!this.knownKeys(current, [field, i], item, PATH_ITEM_FIELDS[field] ?? [], `${field} item`)) continue;
          const file = (item as Record<string, unknown>).path;
          if (file !== undefined) await this.checkEntry(current, [field, i, "path"], file, "file");
        }
        return;
      case "generator":
        for (const [i, item] of this.list(current, field, value).entries()) {
          if (!this.knownKeys(current, [field, i], item, GENERATOR_FIELDS[field] ?? [], `${field} item`)) continue;
          await this.checkGenerator(current, [field, i], item as Record<string, unknown>);
        }
        return;
    }
  }

  private async checkGenerator(current: Current, at: Segment[], item: Record<string, unknown>): Promise<void> {
    for (const [j, source] of this.list(current, [...at, "files"], item.files).entries()) {
      // `[key=]path`: the key names the data entry, the rest is the file.
      const file = typeof source === "string" && source.includes("=") ? source.slice(source.indexOf("=") + 1) : source;
      await this.checkEntry(current, [...at, "files", j], file, "file");
    }
    for (const [j, source] of this.list(current, [...at, "envs"], item.envs).entries()) await this.checkEntry(current, [...at, "envs", j], source, "file");
    if (item.env !== undefined) await this.checkEntry(current, [...at, "env"], item.env, "file");
  }

  /** A field's list, or an empty one after reporting that it is not a list. */
  private list(current: Current, field: string | Segment[], value: unknown): unknown[] {
    if (value === undefined || value === null) return [];
    if (Array.isArray(value)) return value;
    const segments = typeof field === "string" ? [field] : field;
    this.error(this.at(current, segments), `${segments.at(-1) ?? "field"} must be a list`);
    return [];
  }

  /** Whether `item` is a map with only `allowed` keys (each other key reported). */
  private knownKeys(current: Current, at: Segment[], item: unknown, allowed: readonly string[], what: string): boolean {
    if (!isMap(item)) {
      this.error(this.at(current, at), `${what} must be a map`);
      return false;
    }
    let ok = true;
    for (const key of Object.keys(item)) {
      if (allowed.includes(key)) continue;
      this.error(this.at(current, [...at, key], true), unknownField(key, allowed, what));
      ok = false;
    }
    return ok;
  }

  /**
   * Checks one path a kustomization names, relative to its directory. `resource` may be a file or a
   * kustomization directory, `component` must be a directory, `file` a file. Directories are walked.
   */
  private async checkEntry(current: Current, at: Segment[], written: unknown, kind: "resource" | "component" | "file"): Promise<void> {
    const here = this.at(current, at);
    const field = at.find((s): s is string => typeof s === "string") ?? "entry";
    if (typeof written !== "string" || written.trim() === "") {
      this.error(here, `${field}: an entry must be a non-empty path`);
      return;
    }
    if (looksRemote(written)) {
      this.checkRemote(here, field, written, kind);
      return;
    }
    if (path.posix.isAbsolute(written) || path.win32.isAbsolute(written) || written.startsWith("~")) {
      this.error(here, `${field}: "${written}" is an absolute path: name a path relative to the kustomization's directory`);
      return;
    }
    const joined = joinRel(current.dir, written);
    if (joined === ".." || joined.startsWith("../")) {
      this.error(here, `${field}: "${written}" leaves the fleet directory`);
      return;
    }
    const resolved = await resolveContained(this.root, joined === "" ? "." : joined);
    if (!resolved.ok) {
      if (resolved.missing) this.error(here, `${field}: "${written}" does not exist in the fleet directory (${joined})`);
      else this.error(here, `${field}: ${resolved.problem}`);
      return;
    }
    if (kind === "file" && resolved.isDirectory) {
      this.error(here, `${field}: "${written}" is a directory; name a file`);
      return;
    }
    if (kind === "component" && !resolved.isDirectory) {
      this.error(here, `${field}: "${written}" is a file; a component is a directory with a kustomization`);
      return;
    }
    if (resolved.isDirectory) this.pending.push({ dir: joined, depth: current.depth + 1, from: here });
  }

  /** A remote resource: refused unless the operator allows them, and then only in a plain, safe form. */
  private checkRemote(here: SourcePosition, field: string, written: string, kind: "resource" | "component" | "file"): void {
    const shown = redactRemote(written);
    if (!this.options.policy.allowRemoteKustomize) {
      this.error(here, `${field}: ${shown} is a remote ${kind}: bosun builds kustomizations only from the fleet repository unless the operator allows remote resources (--allow-remote-kustomize)`);
      return;
    }
    const problem = remoteProblem(written);
    if (problem !== undefined) this.error(here, `${field}: remote ${kind} ${shown} ${problem}`);
  }
}

/**
 * Whether kustomize would treat an entry as remote: a URL, an scp-like Git address, a `git::` or
 * `gh:` prefix, or a host-first path such as `github.com/org/repo`.
 */
export function looksRemote(written: string): boolean {
  if (/^[a-z][a-z0-9+.-]*::/i.test(written) || written.includes("://")) return true;
  if (/^[\w.-]+@[\w.-]+:/.test(written)) return true;
  if (/^gh:/i.test(written)) return true;
  const first = written.split("/")[0] ?? "";
  // A first segment that is a domain name (github.com, gitlab.example.org): kustomize's host-first form.
  return written.includes("/") && /^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(:\d+)?$/i.test(first) && !first.startsWith(".");
}

/** Why a remote entry is refused even though remote entries are allowed, or undefined when it is acceptable. */
export function remoteProblem(written: string): string | undefined {
  let text = written;
  if (/^git::/i.test(text)) text = text.slice(5);
  if (!text.includes("://")) {
    if (/^[\w.-]+@[\w.-]+:/.test(text) || /^gh:/i.test(text)) return "uses SSH: only https:// remotes are allowed (SSH would use the machine's own keys)";
    text = `https://${text}`;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "is not a valid URL";
  }
  if (url.protocol !== "https:") return `uses ${url.protocol.replace(/:$/, "")}: only https:// remotes are allowed`;
  if (url.username !== "" || url.password !== "") return "carries credentials in the URL";
  const host = classifyUrlHost(url);
  if (!host) return "has no host";
  if (host.cls !== "public") return `is on a ${host.cls} address (${host.hostname})`;
  for (const [name, value] of url.searchParams) {
    if (!REMOTE_PARAMETERS.has(name)) return `has the query parameter "${name}", which kustomize does not read from a remote (allowed: ${[...REMOTE_PARAMETERS].join(", ")})`;
    // kustomize hands the ref to git: a value that starts with "-" would be read as an option.
    if (value.startsWith("-") || /[\s\0]/.test(value)) return `has a ${name} that git would read as an option or that holds whitespace`;
  }
  if (decodeURIComponent(url.pathname).split("/").some((part) => part.startsWith("-"))) return "has a path segment starting with \"-\", which git would read as an option";
  return undefined;
}

/** A remote entry as it may be printed: no user info, no query string. */
function redactRemote(written: string): string {
  const withoutQuery = written.split("?")[0] ?? written;
  return JSON.stringify(withoutQuery.replace(/\/\/[^/@]*@/, "//"));
}

function unknownField(field: string, known: readonly string[], what: string): string {
  const lower = field.toLowerCase();
  const twin = known.find((k) => k.toLowerCase() === lower);
  const hint = twin !== undefined ? `: kustomize would read it as "${twin}", write it exactly so` : "";
  return `unknown ${what} field ${JSON.stringify(field)}${hint}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return isObject(value) && !Array.isArray(value);
}

function normalize(dir: string): string {
  const normal = path.posix.normalize(dir.replaceAll("\\", "/")).replace(/\/+$/, "");
  return normal === "." ? "" : normal;
}

function joinRel(dir: string, written: string): string {
  return normalize(path.posix.join(dir === "" ? "." : dir, written.replaceAll("\\", "/")));
}
