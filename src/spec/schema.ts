/**
 * Validation of each written document against `schemas/*.schema.json` with ajv, and translation of ajv's
 * errors into messages a person can act on, at the line and column of the offending node.
 *
 * Documents are validated as written, before defaults are merged: an error then points at the one place it
 * was made, and merging only ever sees well-typed input. What can only be judged after merging (a cluster
 * with no version anywhere, add-on dependencies) is checked by the rules in `./rules.ts`.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { FORMATS } from "./formats.js";
import type { IssueCollector } from "./issues.js";
import * as generated from "./validators.generated.js";
import { formatPath, isObject, type Segment, type SourceMap, type SpecDocument } from "./yaml.js";

/** The document kinds bosun reads. */
export type DocumentKind = "Fleet" | "Cluster";

/**
 * The schemas, precompiled by scripts/gen-spec-validators.mjs (ajv options: allErrors, strict, verbose).
 * Compiling at run time would cost more than loading a whole fleet.
 */
const VALIDATORS = { Cluster: generated.Cluster, Fleet: generated.Fleet } as unknown as Record<DocumentKind, ValidateFunction>;

/**
 * Validates one document against its kind's schema, recording every error. Returns the instance paths
 * (JSON pointers) that have errors — empty when the document is valid — so a caller can still use the
 * parts of a document that are fine.
 */
export function validateDocument(kind: DocumentKind, doc: SpecDocument, sources: SourceMap, issues: IssueCollector): string[] {
  const validate = VALIDATORS[kind];
  if (validate(doc.value)) return [];
  const errors = validate.errors ?? [];
  // Errors inside a propertyNames check are reported on the key itself; the wrapper error adds nothing.
  for (const error of errors) {
    if (error.keyword === "propertyNames") continue;
    const { path, key } = errorPath(doc.value, error);
    const at = sources.locate(doc.value, path, { key }) ?? doc.at;
    issues.error({ ...at, path: formatPath(path) }, describe(error));
  }
  return errors.map((e) => e.instancePath);
}

function errorPath(root: unknown, error: ErrorObject): { path: Segment[]; key: boolean } {
  const path: Segment[] = [];
  let current: unknown = root;
  for (const raw of error.instancePath.split("/").slice(1)) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    const step: Segment = Array.isArray(current) ? Number(segment) : segment;
    path.push(step);
    current = isObject(current) ? (current as Record<string, unknown>)[String(step)] : undefined;
  }
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "additionalProperties") return { path: [...path, String(params.additionalProperty)], key: true };
  if (typeof error.propertyName === "string") return { path: [...path, error.propertyName], key: true };
  if (error.keyword === "uniqueItems" && typeof params.j === "number") return { path: [...path, params.j], key: false };
  return { path, key: false };
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  object: "a map",
  array: "a list",
  null: "empty",
};

function typeName(value: unknown): string {
  if (value === null) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "number") return `the number ${String(value)}`;
  if (typeof value === "boolean") return `the boolean ${String(value)}`;
  return `the string ${JSON.stringify(value)}`;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  const data: unknown = error.data;
  switch (error.keyword) {
    case "additionalProperties": {
      const field = String(params.additionalProperty);
      const allowed = Object.keys(schema.properties ?? {});
      const near = allowed.find((name) => editDistance(name.toLowerCase(), field.toLowerCase()) <= 2);
      return near ? `unknown field "${field}" (did you mean "${near}"?)` : `unknown field "${field}" (allowed: ${allowed.join(", ")})`;
    }
    case "required":
      return `missing required field "${String(params.missingProperty)}"`;
    case "type": {
      const wanted = String(params.type).split(",").map((t) => TYPE_NAMES[t] ?? t).join(" or ");
      const quoteHint = String(params.type) === "string" && typeof data === "number" ? ": YAML read a number, put the value in quotes" : "";
      return `must be ${wanted}, not ${typeName(data)}${quoteHint}`;
    }
    case "const":
      return `must be ${JSON.stringify(params.allowedValue)}, not ${typeName(data)}`;
    case "enum":
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}, not ${typeName(data)}`;
    case "format": {
      const propertyName = error.propertyName;
      const subject = typeof propertyName === "string" ? propertyName : typeof data === "string" ? data : "";
      return FORMATS[String(params.format)]?.(subject) ?? `must be a ${String(params.format)}`;
    }
    case "pattern":
      return `${typeName(data)} does not have the expected form: ${String(schema.description ?? params.pattern)}`;
    case "minimum":
      return `must be at least ${String(params.limit)}, not ${String(data)}`;
    case "maximum":
      return `must be at most ${String(params.limit)}, not ${String(data)}`;
    case "minLength":
      return "must not be empty";
    case "minItems":
      return `must have at least ${String(params.limit)} ${params.limit === 1 ? "entry" : "entries"}`;
    case "uniqueItems":
      return `duplicate entry ${typeName(Array.isArray(data) ? data[Number(params.j)] : undefined)}`;
    case "minProperties":
    case "maxProperties": {
      const choices = Object.keys(schema.properties ?? {});
      const found = isObject(data) ? Object.keys(data) : [];
      return `set exactly one of ${choices.join(", ")}${found.length > 1 ? ` (found ${found.join(" and ")})` : ""}`;
    }
    case "dependencies": {
      const property = String(params.property);
      const missing = String(params.missingProperty);
      if (property === "repo" && missing === "version") return "a chart from a repo must pin its version: add version, e.g. version: 1.2.3";
      return `"${property}" needs "${missing}" as well`;
    }
    default:
      return error.message ?? `fails the schema's ${error.keyword} check`;
  }
}

/** Levenshtein distance, for "did you mean" hints on misspelt field names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
