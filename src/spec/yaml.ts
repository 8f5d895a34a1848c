/**
 * YAML with source positions. Each document is turned into plain JSON-like values by our own walk over the
 * `yaml` AST (rather than `toJS()`), because the walk records where every value came from in a `SourceMap`,
 * enforces the alias, node and depth limits as it goes, and never lets a key such as `__proto__` reach an
 * object's prototype.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from "yaml";
import type { IssueCollector, SourcePosition } from "./issues.js";
import type { SpecLimits } from "./limits.js";

/** One step of a path into a document: a map key or a list index. */
export type Segment = string | number;

/** Where a value came from, and where its key is when it is a map entry. */
export interface Located {
  value: SourcePosition;
  key?: SourcePosition;
}

interface ContainerSource {
  self: SourcePosition;
  children: Map<Segment, Located>;
}

/**
 * Positions of every map and list the loader holds, keyed by object identity. Merging defaults into a
 * cluster builds new objects whose entries keep the positions of the documents they came from, so an error
 * in a merged cluster still points at the line that caused it — in the cluster file or in fleet.yaml.
 */
export class SourceMap {
  private readonly containers = new WeakMap<object, ContainerSource>();

  /** Records the position of a map or list. */
  register(container: object, self: SourcePosition): void {
    this.containers.set(container, { self, children: new Map() });
  }

  /** Records the position of one entry of a registered container. */
  setChild(container: object, key: Segment, located: Located): void {
    this.containers.get(container)?.children.set(key, located);
  }

  /** The position of a container itself. */
  self(container: object): SourcePosition | undefined {
    return this.containers.get(container)?.self;
  }

  /** The position of one entry of a container. */
  child(container: object, key: Segment): Located | undefined {
    return this.containers.get(container)?.children.get(key);
  }

  /**
   * The position of the value at `path` under `root` — or of its key, with `key: true`. A map or list
   * value is reported at its key (`connection:` rather than the first line inside it), which is where a
   * reader looks for "this whole thing is wrong". When the path leads to something that does not exist (a
   * missing required field), the deepest existing ancestor is returned.
   */
  locate(root: unknown, path: readonly Segment[], options: { key?: boolean } = {}): SourcePosition | undefined {
    let current: unknown = root;
    let entry: Located | undefined;
    for (const segment of path) {
      if (!isObject(current)) break;
      const next = this.child(current, segment);
      if (!next) break;
      entry = next;
      current = (current as Record<string, unknown>)[String(segment)];
    }
    if (!entry) return isObject(root) ? this.self(root) : undefined;
    return (options.key === true || isObject(current)) && entry.key ? entry.key : entry.value;
  }
}

/** One YAML document of a spec file, converted to plain values. */
export interface SpecDocument {
  /** File relative to the fleet directory. */
  file: string;
  /** 0-based index of the document in its file. */
  index: number;
  /** Position of the document's root node. */
  at: SourcePosition;
  value: unknown;
}

/** Formats a path the way messages show it: `spec.addons[0].helm`. */
export function formatPath(path: readonly Segment[]): string {
  let out = "";
  for (const segment of path) out = appendPath(out, segment);
  return out;
}

/** Extends a formatted path by one segment. */
export function appendPath(path: string, segment: Segment): string {
  if (typeof segment === "number") return `${path}[${segment}]`;
  return /^[A-Za-z_$][\w$-]*$/.test(segment) ? `${path ? `${path}.` : ""}${segment}` : `${path}[${JSON.stringify(segment)}]`;
}

/** Whether a value is a map or list (not null). */
export function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

/**
 * Parses every document of one spec file. YAML errors become issues and the document they are in is
 * dropped; the other documents of the file are still returned, so one broken cluster does not hide the
 * problems of the next.
 */
export function parseSpecFile(
  file: string,
  text: string,
  limits: SpecLimits,
  sources: SourceMap,
  issues: IssueCollector,
): SpecDocument[] {
  const lines = new LineCounter();
  const position = (offset: number | undefined, path: string): SourcePosition => {
    const { line, col } = lines.linePos(offset ?? 0);
    return { file, line, col, path };
  };
  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (error) {
    // The parser recurses; input nested deeply enough can exhaust the stack before our depth limit applies.
    issues.error(position(0, ""), `cannot parse YAML: ${error instanceof Error ? error.message : String(error)}`);
    return [];
  }
  if (docs.length > limits.maxDocumentsPerFile) {
    issues.error(position(0, ""), `more than ${limits.maxDocumentsPerFile} YAML documents in one file`);
    return [];
  }
  const result: SpecDocument[] = [];
  for (const [index, doc] of docs.entries()) {
    for (const problem of doc.errors) issues.error(position(problem.pos[0], ""), yamlMessage(problem.message));
    for (const problem of doc.warnings) issues.warning(position(problem.pos[0], ""), yamlMessage(problem.message));
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const walker = new Walker(doc, limits, sources, position);
    const value = walker.convert(doc.contents, "", 0);
    if (walker.failure) {
      issues.error(walker.failure.at, walker.failure.message);
      continue;
    }
    result.push({ file, index, at: position(doc.contents.range[0], ""), value });
  }
  if (docs.every((doc) => doc.contents === null)) issues.warning(position(0, ""), "the file holds no YAML document");
  return result;
}

function yamlMessage(message: string): string {
  return `YAML: ${message.split("\n")[0] ?? message}`;
}

class Walker {
  failure: { at: SourcePosition; message: string } | undefined;
  private aliases = 0;
  private nodes = 0;

  constructor(
    private readonly doc: Document.Parsed,
    private readonly limits: SpecLimits,
    private readonly sources: SourceMap,
    private readonly position: (offset: number | undefined, path: string) => SourcePosition,
  ) {}

  convert(node: unknown, path: string, depth: number): unknown {
    if (this.failure) return null;
    const offset = (node as YamlNode | null)?.range?.[0];
    if (++this.nodes > this.limits.maxNodes) return this.fail(offset, path, `document expands to more than ${this.limits.maxNodes} YAML nodes`);
    if (depth > this.limits.maxDepth) return this.fail(offset, path, `nesting deeper than ${this.limits.maxDepth} levels`);
    if (isAlias(node)) {
      if (++this.aliases > this.limits.maxAliases) return this.fail(offset, path, `more than ${this.limits.maxAliases} YAML aliases in one document`);
      const target = node.resolve(this.doc);
      if (!target) return this.fail(offset, path, `YAML alias *${node.source} has no anchor`);
      return this.convert(target, path, depth + 1);
    }
    if (isScalar(node)) return scalarValue(node.value);
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      this.sources.register(out, this.position(offset, path));
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as YamlNode | null;
        if (!isScalar(keyNode)) return this.fail(keyNode?.range?.[0] ?? offset, path, "a map key must be a plain value, not a list, map or alias");
        const key = String(keyNode.value);
        const childPath = appendPath(path, key);
        const valueNode = pair.value as YamlNode | null;
        const value = valueNode === null ? null : this.convert(valueNode, childPath, depth + 1);
        // defineProperty, not assignment: a key named __proto__ must be data, never the object's prototype.
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        const keyAt = this.position(keyNode.range?.[0], childPath);
        this.sources.setChild(out, key, { key: keyAt, value: valueNode?.range ? this.position(valueNode.range[0], childPath) : keyAt });
      }
      return out;
    }
    if (isSeq(node)) {
      const out: unknown[] = [];
      this.sources.register(out, this.position(offset, path));
      for (const [i, item] of node.items.entries()) {
        const childPath = appendPath(path, i);
        out.push(this.convert(item, childPath, depth + 1));
        this.sources.setChild(out, i, { value: this.position((item as YamlNode | null)?.range?.[0] ?? offset, childPath) });
      }
      return out;
    }
    return null;
  }

  private fail(offset: number | undefined, path: string, message: string): null {
    this.failure ??= { at: this.position(offset, path), message };
    return null;
  }
}

function scalarValue(value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (typeof value === "bigint") return Number(value);
  // The core schema yields nothing else; anything that does arrive is not spec data.
  return null;
}
