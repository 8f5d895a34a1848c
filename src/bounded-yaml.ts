/**
 * The one way bosun parses YAML it did not write itself: spec files, values files, Chart.yaml, kubeconfigs.
 * Such text may come from a pull request nobody has reviewed yet, so parsing is bounded in every dimension
 * that costs time or memory:
 *
 * - size of the text, and number of documents in it;
 * - YAML nodes each document expands to (aliases included, so a "billion laughs" stops at the limit),
 *   alias uses, and nesting depth;
 * - optionally a budget shared by every parse of one run (total bytes and nodes), so ten thousand files
 *   each just under the limits cannot add up to an exhausted machine.
 *
 * Duplicate keys are found with one hash set per map (the `yaml` package's own `uniqueKeys` check
 * compares every key with every earlier one, which takes minutes on a 1 MiB map). Values are built by our
 * own walk over the AST, never by `toJS()`; a key named `__proto__` is refused, and keys that are kept are
 * defined as data (`defineProperty`), so no content can reach an object's prototype.
 *
 * Pure: no I/O. Everything goes wrong as a returned problem (with line and column), never as an exception.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from "yaml";

/** Per-text limits of {@link parseBoundedYaml}. */
export interface YamlLimits {
  /** Largest text parsed, in UTF-8 bytes. */
  maxBytes: number;
  /** Most YAML documents in one text. */
  maxDocuments: number;
  /** Most alias uses (`*name`) in one document; each alias copies its anchor's value. */
  maxAliases: number;
  /** Most YAML nodes one document may expand to, aliases included. */
  maxNodes: number;
  /** Deepest nesting of maps and lists in one document. */
  maxDepth: number;
}

/** Defaults: generous for any fleet file, values file, Chart.yaml or kubeconfig; far below what hurts. */
export const DEFAULT_YAML_LIMITS: Readonly<YamlLimits> = {
  maxBytes: 1024 * 1024,
  maxDocuments: 1_000,
  maxAliases: 100,
  maxNodes: 100_000,
  maxDepth: 64,
};

/** Map keys that would reach an object's prototype machinery when used as a property name. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Bytes and nodes left for every parse of one run (one fleet load). Each parse takes from it; once it is
 * used up, every further parse fails with a problem naming the total limit.
 */
export class YamlBudget {
  private bytesLeft: number;
  private nodesLeft: number;

  constructor(
    /** Total bytes of YAML one run may parse. */
    readonly maxTotalBytes: number,
    /** Total YAML nodes one run may build. */
    readonly maxTotalNodes: number,
  ) {
    this.bytesLeft = maxTotalBytes;
    this.nodesLeft = maxTotalNodes;
  }

  /** Takes `bytes`; false (and nothing taken) when fewer are left. */
  takeBytes(bytes: number): boolean {
    if (bytes > this.bytesLeft) return false;
    this.bytesLeft -= bytes;
    return true;
  }

  /** Takes one node; false when none is left. */
  takeNode(): boolean {
    if (this.nodesLeft <= 0) return false;
    this.nodesLeft -= 1;
    return true;
  }
}

/** Where something in a parsed text is: 1-based line and column, and the dot path of the value. */
export interface YamlPosition {
  line: number;
  col: number;
  /** `spec.addons[0].helm`; empty for the document itself. */
  path: string;
}

/** Why a text (or one document of it) was refused. */
export interface YamlProblem extends YamlPosition {
  message: string;
  /** Index of the document it is in, or undefined for the whole text. */
  document: number | undefined;
}

/** Observers of the walk, for callers that keep source positions (the spec loader). */
export interface YamlWalkHooks {
  /** A map or list was built; `at` is where it starts. */
  container?: (container: object, at: YamlPosition) => void;
  /** An entry was added to a container: where its key is (maps only) and where its value is. */
  child?: (container: object, key: string | number, keyAt: YamlPosition | undefined, valueAt: YamlPosition) => void;
}

/** Options of {@link parseBoundedYaml}. */
export interface BoundedYamlOptions {
  limits?: Partial<YamlLimits>;
  /** Shared with the other parses of the same run. */
  budget?: YamlBudget;
  /** YAML version of plain scalars (`1.1` for what Kubernetes tools write, e.g. kubeconfigs). Default 1.2. */
  version?: "1.1" | "1.2";
  hooks?: YamlWalkHooks;
}

/** One parsed document: its plain value and the offset of its root node. */
export interface BoundedDocument {
  index: number;
  offset: number;
  value: unknown;
}

/**
 * What a parse gives: the documents that parsed, and every problem. A problem with `document` set drops
 * only that document (the others are still returned, so one broken cluster does not hide the next); a
 * problem without it means nothing was parsed at all.
 */
export interface BoundedYaml {
  documents: BoundedDocument[];
  problems: YamlProblem[];
  warnings: YamlProblem[];
  /** Turns a character offset of the text into a line and column. */
  position: (offset: number | undefined, path: string) => YamlPosition;
}

/** Parses every document of `text` within the limits. Never throws on any input. */
export function parseBoundedYaml(text: string, options: BoundedYamlOptions = {}): BoundedYaml {
  const limits: YamlLimits = { ...DEFAULT_YAML_LIMITS, ...options.limits };
  const lines = new LineCounter();
  const position = (offset: number | undefined, path: string): YamlPosition => {
    const { line, col } = lines.linePos(offset ?? 0);
    return { line, col, path };
  };
  const result: BoundedYaml = { documents: [], problems: [], warnings: [], position };
  const whole = (message: string): BoundedYaml => {
    result.problems.push({ line: 1, col: 1, path: "", message, document: undefined });
    return result;
  };
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > limits.maxBytes) return whole(`larger than ${limits.maxBytes} bytes`);
  if (options.budget && !options.budget.takeBytes(bytes)) {
    return whole(`the YAML read in this run would exceed ${options.budget.maxTotalBytes} bytes in total`);
  }
  const shape = prescan(text, limits);
  if (shape) return whole(shape);
  let docs: Document.Parsed[];
  try {
    // uniqueKeys off: the walk finds duplicates in linear time (see the module comment).
    const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false, version: options.version ?? "1.2" });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (error) {
    // The parser recurses; input nested deeply enough can exhaust the stack before the depth limit applies.
    return whole(`cannot parse YAML: ${error instanceof RangeError ? "nested too deeply" : firstLine(error)}`);
  }
  if (docs.length > limits.maxDocuments) return whole(`more than ${limits.maxDocuments} YAML documents`);
  for (const [index, doc] of docs.entries()) {
    // One error per document: a hostile text can make the parser report one per character, and the first
    // is the one to fix. Running out of stack (flow collections nested far too deep) is the one to show.
    const error = doc.errors.find((e) => e.code === "RESOURCE_EXHAUSTION") ?? doc.errors[0];
    if (error) {
      const message = error.code === "RESOURCE_EXHAUSTION" ? `nesting deeper than ${limits.maxDepth} levels` : yamlMessage(error.message);
      result.problems.push({ ...position(error.pos[0], ""), message, document: index });
    }
    for (const problem of doc.warnings.slice(0, 10)) result.warnings.push({ ...position(problem.pos[0], ""), message: yamlMessage(problem.message), document: index });
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const walker = new Walker(doc, limits, options.budget, options.hooks ?? {}, position);
    let value: unknown;
    try {
      value = walker.convert(doc.contents, "", 0);
    } catch (error) {
      // Only a stack overflow can get here (the walk recurses once per nesting level and aliases add levels).
      if (!(error instanceof RangeError)) throw error;
      walker.fail(doc.contents.range[0], "", "nested too deeply");
    }
    if (walker.failure) {
      result.problems.push({ ...walker.failure, document: index });
      continue;
    }
    result.documents.push({ index, offset: doc.contents.range[0], value });
  }
  return result;
}

/**
 * Parses a text that must hold at most one document, as a plain value (`undefined` when it holds none).
 * For values files, Chart.yaml and kubeconfigs: the first problem is returned, with its line.
 */
export function parseSingleYaml(
  text: string,
  options: BoundedYamlOptions = {},
): { ok: true; value: unknown } | { ok: false; problem: YamlProblem } {
  const parsed = parseBoundedYaml(text, { ...options, limits: { ...options.limits, maxDocuments: 1 } });
  const problem = parsed.problems[0];
  if (problem) return { ok: false, problem };
  return { ok: true, value: parsed.documents[0]?.value };
}

/** A problem as one line: `line 3, column 5 (spec.x): message`. */
export function describeYamlProblem(problem: YamlProblem): string {
  return `line ${problem.line}, column ${problem.col}${problem.path ? ` (${problem.path})` : ""}: ${problem.message}`;
}

/** Extends a formatted path by one segment: `a.b`, `a[0]`, `a["x y"]`. */
export function appendYamlPath(path: string, segment: string | number): string {
  if (typeof segment === "number") return `${path}[${segment}]`;
  return /^[A-Za-z_$][\w$-]*$/.test(segment) ? `${path ? `${path}.` : ""}${segment}` : `${path}[${JSON.stringify(segment)}]`;
}

/**
 * Flow collections ([ ] and { }) nested deeper than this are refused before parsing. The `yaml` parser's
 * cost grows faster than linearly with flow nesting (a million `[` take minutes); the real depth limit
 * still applies to what is built, so this only needs to be far above it and far below what is slow.
 */
export const MAX_FLOW_NESTING = 1_000;

/**
 * One linear pass over the text for the shapes that make the parser itself slow, before it runs: too many
 * document markers (`---` at the start of a line), flow collections nested too deep, and long runs of
 * compact block indicators (`- - - - x`). Brackets are counted wherever they are (a `[` in a quoted string
 * counts too), so a real file is refused only with a thousand unclosed ones; a text that hides closing
 * brackets in quotes gets past this scan, and is then bounded by the byte limits and the parser's own
 * stack guard (slow, but not without end).
 */
function prescan(text: string, limits: YamlLimits): string | undefined {
  let documents = 0;
  let flow = 0;
  let compact = 0;
  let lineStart = true;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === NEWLINE) {
      lineStart = true;
      compact = 0;
      continue;
    }
    if (c === DASH && (i === 0 || text.charCodeAt(i - 1) === NEWLINE) && text.startsWith("---", i) && isBlankOrEnd(text, i + 3)) {
      if (++documents > limits.maxDocuments) return `more than ${limits.maxDocuments} YAML documents`;
    }
    if (c === OPEN_SQUARE || c === OPEN_CURLY) {
      if (++flow > MAX_FLOW_NESTING) return `flow collections ([ ] and { }) nested more than ${MAX_FLOW_NESTING} levels deep`;
    } else if ((c === CLOSE_SQUARE || c === CLOSE_CURLY) && flow > 0) {
      flow -= 1;
    } else if ((c === DASH || c === QUESTION || c === COLON) && flow === 0 && (lineStart || compact > 0) && isBlankOrEnd(text, i + 1)) {
      // `- - - x` on one line: each indicator opens one more level of nesting.
      if (++compact > limits.maxDepth) return `nesting deeper than ${limits.maxDepth} levels`;
      lineStart = false;
      continue;
    }
    if (c !== SPACE && c !== TAB) {
      lineStart = false;
      compact = 0;
    }
  }
  return undefined;
}

const NEWLINE = 10;
const SPACE = 32;
const TAB = 9;
const DASH = 45;
const QUESTION = 63;
const COLON = 58;
const OPEN_SQUARE = 91;
const CLOSE_SQUARE = 93;
const OPEN_CURLY = 123;
const CLOSE_CURLY = 125;

/** Whether the character at `i` is a space, tab, line break, or past the end. */
function isBlankOrEnd(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return Number.isNaN(c) || c === SPACE || c === TAB || c === NEWLINE || c === 13;
}

function yamlMessage(message: string): string {
  return `YAML: ${message.split("\n")[0] ?? message}`;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}

class Walker {
  failure: YamlPosition & { message: string } | undefined;
  private aliases = 0;
  private nodes = 0;

  constructor(
    private readonly doc: Document.Parsed,
    private readonly limits: YamlLimits,
    private readonly budget: YamlBudget | undefined,
    private readonly hooks: YamlWalkHooks,
    private readonly position: (offset: number | undefined, path: string) => YamlPosition,
  ) {}

  convert(node: unknown, path: string, depth: number): unknown {
    if (this.failure) return null;
    const offset = (node as YamlNode | null)?.range?.[0];
    if (++this.nodes > this.limits.maxNodes) return this.fail(offset, path, `document expands to more than ${this.limits.maxNodes} YAML nodes`);
    if (this.budget && !this.budget.takeNode()) {
      return this.fail(offset, path, `the YAML read in this run would expand to more than ${this.budget.maxTotalNodes} nodes in total`);
    }
    if (depth > this.limits.maxDepth) return this.fail(offset, path, `nesting deeper than ${this.limits.maxDepth} levels`);
    if (isAlias(node)) {
      if (++this.aliases > this.limits.maxAliases) return this.fail(offset, path, `more than ${this.limits.maxAliases} YAML aliases in one document`);
      const target = node.resolve(this.doc);
      if (!target) return this.fail(offset, path, `YAML alias *${node.source} has no anchor`);
      return this.convert(target, path, depth + 1);
    }
    if (isScalar(node)) return scalarValue(node.value);
    if (isMap(node)) return this.convertMap(node.items, offset, path, depth);
    if (isSeq(node)) {
      const out: unknown[] = [];
      this.hooks.container?.(out, this.position(offset, path));
      for (const [i, item] of node.items.entries()) {
        const childPath = appendYamlPath(path, i);
        out.push(this.convert(item, childPath, depth + 1));
        this.hooks.child?.(out, i, undefined, this.position((item as YamlNode | null)?.range?.[0] ?? offset, childPath));
        if (this.failed()) return null;
      }
      return out;
    }
    return null;
  }

  private convertMap(items: readonly unknown[], offset: number | undefined, path: string, depth: number): unknown {
    const out: Record<string, unknown> = {};
    this.hooks.container?.(out, this.position(offset, path));
    const seen = new Set<string>();
    for (const pair of items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      if (!isScalar(keyNode)) return this.fail(keyNode?.range?.[0] ?? offset, path, "a map key must be a plain value, not a list, map or alias");
      const key = String(keyNode.value);
      const childPath = appendYamlPath(path, key);
      const keyOffset = keyNode.range?.[0];
      if (key === "__proto__") return this.fail(keyOffset, childPath, 'a map key may not be "__proto__"');
      if (seen.has(key)) return this.fail(keyOffset, childPath, `YAML: Map keys must be unique: ${JSON.stringify(key)} appears twice`);
      seen.add(key);
      const valueNode = pair.value as YamlNode | null;
      const value = valueNode === null ? null : this.convert(valueNode, childPath, depth + 1);
      if (this.failed()) return null;
      // defineProperty, not assignment: content never calls a setter, whatever the key.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      if (this.hooks.child) {
        const keyAt = this.position(keyOffset, childPath);
        this.hooks.child(out, key, keyAt, valueNode?.range ? this.position(valueNode.range[0], childPath) : keyAt);
      }
    }
    return out;
  }

  /** Whether a limit or rule has stopped the walk (a method, so the check is not narrowed away). */
  failed(): boolean {
    return this.failure !== undefined;
  }

  fail(offset: number | undefined, path: string, message: string): null {
    this.failure ??= { ...this.position(offset, path), message };
    return null;
  }
}

function scalarValue(value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number(value);
  // The core schema yields nothing else; anything that does arrive is not data bosun reads.
  return null;
}
