/**
 * YAML with source positions. Each document is turned into plain JSON-like values by our own walk over the
 * `yaml` AST (rather than `toJS()`), because the walk records where every value came from in a `SourceMap`,
 * enforces the alias, node and depth limits as it goes, and never lets a key such as `__proto__` reach an
 * object's prototype.
 */
import { appendYamlPath, parseBoundedYaml, type YamlBudget, type YamlPosition } from "../bounded-yaml.js";
import type { IssueCollector, SourcePosition } from "./issues.js";
import { yamlLimits, type SpecLimits } from "./limits.js";

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
  return appendYamlPath(path, segment);
}

/** Whether a value is a map or list (not null). */
export function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

/**
 * Parses every document of one spec file, within `limits` and the run's `budget` (see `src/bounded-yaml.ts`).
 * YAML errors become issues and the document they are in is dropped; the other documents of the file are
 * still returned, so one broken cluster does not hide the problems of the next.
 */
export function parseSpecFile(
  file: string,
  text: string,
  limits: SpecLimits,
  sources: SourceMap,
  issues: IssueCollector,
  budget?: YamlBudget,
): SpecDocument[] {
  const at = (position: YamlPosition): SourcePosition => ({ file, ...position });
  const parsed = parseBoundedYaml(text, {
    limits: yamlLimits(limits),
    ...(budget ? { budget } : {}),
    hooks: {
      container: (container, self) => {
        sources.register(container, at(self));
      },
      child: (container, key, keyAt, valueAt) => {
        sources.setChild(container, key, keyAt === undefined ? { value: at(valueAt) } : { key: at(keyAt), value: at(valueAt) });
      },
    },
  });
  for (const problem of parsed.problems) issues.error(at(problem), problem.message);
  for (const problem of parsed.warnings) issues.warning(at(problem), problem.message);
  if (parsed.problems.some((p) => p.document === undefined)) return [];
  const result = parsed.documents.map((doc): SpecDocument => ({ file, index: doc.index, at: at(parsed.position(doc.offset, "")), value: doc.value }));
  if (result.length === 0 && parsed.problems.length === 0) issues.warning(at(parsed.position(0, "")), "the file holds no YAML document");
  return result;
}
