/**
 * A small OpenAPI 3.0 request validator for contract tests: finds the operation of a request (method and
 * path template), checks its path and query parameters, and its JSON body against the operation's
 * `requestBody` schema with every `$ref` resolved. Enough of JSON Schema for GitHub's description: type,
 * nullable, enum, required, properties, additionalProperties, items, oneOf/anyOf/allOf, maxLength,
 * minimum/maximum.
 */
import fs from "node:fs";

type Schema = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  operationId: string;
  parameters: Schema[];
  requestBody: Schema | undefined;
}

/** What {@link OpenApiContract.check} found. */
export interface ContractCheck {
  /** The operation, when method and path are in the description. */
  operation?: { operationId: string; template: string; params: Record<string, string> };
  /** Every way the request breaks the contract; empty when it keeps it. */
  problems: string[];
}

/** An OpenAPI description loaded for checking requests. */
export class OpenApiContract {
  private readonly doc: Schema;
  private readonly operations: Operation[] = [];

  constructor(file: string) {
    this.doc = JSON.parse(fs.readFileSync(file, "utf8")) as Schema;
    const paths = this.doc.paths as Record<string, Record<string, Schema>>;
    for (const [template, item] of Object.entries(paths)) {
      const shared = (item.parameters as unknown as Schema[] | undefined) ?? [];
      const names: string[] = [];
      const source = template.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === "{" || c === "}" ? c : `\\${c}`)).replace(/\{([^}]+)\}/g, (_, name: string) => {
        names.push(name);
        return "([^/]+)";
      });
      const pattern = new RegExp(`^${source}$`);
      for (const [method, op] of Object.entries(item)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        this.operations.push({
          method: method.toUpperCase(),
          template,
          pattern,
          names,
          operationId: String(op.operationId),
          parameters: [...shared, ...((op.parameters as Schema[] | undefined) ?? [])].map((p) => this.resolve(p)),
          requestBody: op.requestBody === undefined ? undefined : this.resolve(op.requestBody as Schema),
        });
      }
    }
  }

  /** Checks one request; `path` without the query, `query` as parsed, `body` as parsed JSON (or undefined). */
  check(method: string, path: string, query: URLSearchParams, body: unknown): ContractCheck {
    const candidates = this.operations.filter((o) => o.pattern.test(path));
    if (candidates.length === 0) return { problems: [`${method} ${path}: no such path in the description`] };
    // A literal segment beats a parameter: prefer the template with the fewest parameters.
    const op = candidates.filter((o) => o.method === method).sort((a, b) => a.names.length - b.names.length)[0];
    if (op === undefined) return { problems: [`${method} ${path}: method not in the description (it has ${candidates.map((c) => c.method).join(", ")})`] };
    const problems: string[] = [];
    const match = op.pattern.exec(path) ?? [];
    const params: Record<string, string> = {};
    op.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1] ?? "")));
    for (const parameter of op.parameters) {
      const name = String(parameter.name);
      const where = String(parameter.in);
      const schema = this.resolve((parameter.schema as Schema | undefined) ?? {});
      if (where === "path") {
        problems.push(...this.checkScalar(`path parameter ${name}`, params[name], schema, true));
      } else if (where === "query") {
        const value = query.get(name) ?? undefined;
        if (value === undefined) {
          if (parameter.required === true) problems.push(`query parameter ${name} is required`);
        } else problems.push(...this.checkScalar(`query parameter ${name}`, value, schema, false));
      }
    }
    const declared = new Set(op.parameters.filter((p) => p.in === "query").map((p) => String(p.name)));
    for (const name of query.keys()) if (!declared.has(name)) problems.push(`query parameter ${name} is not in the description`);
    const content = op.requestBody?.content as Record<string, Schema> | undefined;
    const jsonSchema = content?.["application/json"]?.schema as Schema | undefined;
    if (op.requestBody === undefined) {
      if (body !== undefined) problems.push("the operation takes no body");
    } else if (body === undefined) {
      if (op.requestBody.required === true) problems.push("the request body is required");
    } else if (jsonSchema !== undefined) {
      problems.push(...this.validate(jsonSchema, body, "body"));
    }
    return { operation: { operationId: op.operationId, template: op.template, params }, problems: problems.map((p) => `${method} ${op.template} (${op.operationId}): ${p}`) };
  }

  /** Validates `value` against `schema`; returns problems with their JSON paths. */
  validate(schemaOrRef: Schema, value: unknown, at: string): string[] {
    const schema = this.resolve(schemaOrRef);
    if (value === null) return schema.nullable === true || schema.type === "null" || schema.type === undefined ? [] : [`${at}: null is not allowed`];
    for (const key of ["oneOf", "anyOf"] as const) {
      const options = schema[key] as Schema[] | undefined;
      if (options !== undefined && !options.some((o) => this.validate(o, value, at).length === 0)) return [`${at}: matches none of ${key}`];
    }
    const all = schema.allOf as Schema[] | undefined;
    const problems = all === undefined ? [] : all.flatMap((s) => this.validate(s, value, at));
    const type = schema.type as string | undefined;
    if (type !== undefined && !typeMatches(type, value)) return [...problems, `${at}: expected ${type}, got ${describe(value)}`];
    const choices = schema.enum as unknown[] | undefined;
    if (choices !== undefined && !choices.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(choices)}`);
    if (typeof value === "string" && typeof schema.maxLength === "number" && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
    if (typeof value === "number") {
      if (typeof schema.minimum === "number" && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
      if (typeof schema.maximum === "number" && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
    }
    if (Array.isArray(value) && schema.items !== undefined) value.forEach((item, i) => problems.push(...this.validate(schema.items as Schema, item, `${at}[${i}]`)));
    if (typeof value === "object" && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
      for (const name of (schema.required as string[] | undefined) ?? []) if (!(name in record)) problems.push(`${at}.${name}: required`);
      for (const [name, item] of Object.entries(record)) {
        const property = properties[name];
        if (property !== undefined) problems.push(...this.validate(property, item, `${at}.${name}`));
        else if (schema.additionalProperties === false) problems.push(`${at}.${name}: not allowed`);
        else if (typeof schema.additionalProperties === "object") problems.push(...this.validate(schema.additionalProperties as Schema, item, `${at}.${name}`));
      }
    }
    return problems;
  }

  private checkScalar(what: string, raw: string | undefined, schema: Schema, required: boolean): string[] {
    if (raw === undefined || raw === "") return required ? [`${what} is required`] : [];
    const type = schema.type as string | undefined;
    if ((type === "integer" && !/^-?\d+$/.test(raw)) || (type === "number" && Number.isNaN(Number(raw)))) return [`${what}: expected ${type}, got ${JSON.stringify(raw)}`];
    if (type === "boolean" && raw !== "true" && raw !== "false") return [`${what}: expected boolean, got ${JSON.stringify(raw)}`];
    const value = type === "integer" || type === "number" ? Number(raw) : raw;
    return this.validate({ ...schema, type: type ?? "string" }, value, what);
  }

  /** Follows `$ref`s (`#/components/...`) until a schema without one. */
  resolve(schema: Schema): Schema {
    let current = schema;
    for (let hops = 0; typeof current.$ref === "string"; hops += 1) {
      if (hops > 32) throw new Error(`$ref loop at ${current.$ref}`);
      const pointer = current.$ref.replace(/^#\//, "").split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
      let target: unknown = this.doc;
      for (const segment of pointer) target = (target as Record<string, unknown> | undefined)?.[segment];
      if (target === undefined) throw new Error(`unresolved $ref ${current.$ref}`);
      current = target as Schema;
    }
    return current;
  }
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return true;
  }
}

function describe(value: unknown): string {
  return Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
}
