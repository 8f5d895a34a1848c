/**
 * Merging the fleet's `spec.defaults` under a cluster's `spec` (DESIGN section 2): maps merge deeply; add-ons
 * merge by name (a cluster entry replaces the default of the same name; `enabled: false` removes it, which
 * normalization does); `connection` and `provider` name one alternative each, so a cluster's value replaces
 * the default's whole rather than merging into a map with two alternatives; every other list is replaced.
 *
 * The merged objects are new, but every entry keeps its source position in the `SourceMap`, so rules that
 * run on the merged spec report the line in whichever file the value came from.
 */
import type { ClusterSpec } from "./generated.js";
import { isObject, type SourceMap } from "./yaml.js";

/** Top-level fields of a cluster spec that are replaced as a whole, not merged. */
const REPLACED_WHOLE: ReadonlySet<string> = new Set(["connection", "provider"]);

/** Merges `defaults` under `spec`. Both must have passed schema validation. */
export function mergeClusterSpec(defaults: ClusterSpec | undefined, spec: ClusterSpec | undefined, sources: SourceMap): ClusterSpec {
  if (defaults === undefined) return spec ?? {};
  if (spec === undefined) return defaults;
  const merged: Record<string, unknown> = {};
  sources.register(merged, sources.self(spec) ?? sources.self(defaults) ?? { file: "", line: 1, col: 1, path: "spec" });
  const base = defaults as Record<string, unknown>;
  const over = spec as Record<string, unknown>;
  for (const key of union(base, over)) {
    const [from, value] = pick(base, over, key, (a, b) => {
      if (key === "addons" && Array.isArray(a) && Array.isArray(b)) return mergeAddons(a, b, sources);
      if (REPLACED_WHOLE.has(key)) return b;
      return mergeValue(a, b, sources);
    });
    merged[key] = value;
    copyPosition(sources, from, key, merged);
  }
  return merged;
}

function mergeValue(base: unknown, over: unknown, sources: SourceMap): unknown {
  if (!isPlainMap(base) || !isPlainMap(over)) return over;
  const merged: Record<string, unknown> = {};
  sources.register(merged, sources.self(over) ?? sources.self(base) ?? { file: "", line: 1, col: 1, path: "" });
  for (const key of union(base, over)) {
    const [from, value] = pick(base, over, key, (a, b) => mergeValue(a, b, sources));
    Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
    copyPosition(sources, from, key, merged);
  }
  return merged;
}

/** Add-ons merge by name: defaults first in their order, each replaced in place by a cluster entry of the same name; then the cluster's new add-ons. */
function mergeAddons(base: unknown[], over: unknown[], sources: SourceMap): unknown[] {
  const nameOf = (entry: unknown): unknown => (isObject(entry) ? (entry as Record<string, unknown>).name : undefined);
  const overByName = new Map<unknown, number>();
  over.forEach((entry, i) => overByName.set(nameOf(entry), i));
  const merged: unknown[] = [];
  sources.register(merged, sources.self(over) ?? sources.self(base) ?? { file: "", line: 1, col: 1, path: "" });
  const push = (list: unknown[], i: number): void => {
    const located = sources.child(list, i);
    merged.push(list[i]);
    if (located) sources.setChild(merged, merged.length - 1, located);
  };
  const used = new Set<number>();
  base.forEach((entry, i) => {
    const replacement = overByName.get(nameOf(entry));
    if (replacement === undefined) push(base, i);
    else {
      used.add(replacement);
      push(over, replacement);
    }
  });
  over.forEach((_, i) => {
    if (!used.has(i)) push(over, i);
  });
  return merged;
}

function union(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

function pick(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
  key: string,
  both: (a: unknown, b: unknown) => unknown,
): [Record<string, unknown>, unknown] {
  const inBase = Object.hasOwn(base, key);
  const inOver = Object.hasOwn(over, key);
  if (inOver && !inBase) return [over, over[key]];
  if (inBase && !inOver) return [base, base[key]];
  return [over, both(base[key], over[key])];
}

function copyPosition(sources: SourceMap, from: object, key: string, to: object): void {
  const located = sources.child(from, key);
  if (located) sources.setChild(to, key, located);
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return isObject(value) && !Array.isArray(value);
}
