/**
 * `sandbox.yaml`: what a sandbox cluster looks like when it starts — its Kubernetes version and its nodes
 * (name, role, zone). Read with source positions so a mistake is reported as `file:line:col: message`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import semver from "semver";
import { LineCounter, isMap, isSeq, parseDocument, type Node as YamlNode, type Document } from "yaml";
import { InvalidInputError } from "../errors.js";

/** The role a seeded node plays. */
export type NodeRole = "control-plane" | "worker";

/** One seeded node. */
export interface SeedNode {
  name: string;
  role: NodeRole;
  zone?: string;
  /** The kubelet version, when it differs from the cluster's (to seed version skew). */
  kubeletVersion?: string;
}

/** One seeded cluster. */
export interface SeedCluster {
  name: string;
  /** `MAJOR.MINOR.PATCH`, no leading v. */
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  nodes: SeedNode[];
}

/** The parsed `sandbox.yaml`. */
export interface SeedSpec {
  file: string;
  clusters: SeedCluster[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

class Collector {
  readonly errors: string[] = [];
  constructor(
    private readonly file: string,
    private readonly lines: LineCounter,
  ) {}

  add(node: YamlNode | null | undefined, at: string, message: string): void {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    this.errors.push(`${this.file}:${line}:${col}: ${message}${at ? ` (at ${at})` : ""}`);
  }
}

/** Reads and checks `DIR/sandbox.yaml`; every error at once, as one InvalidInputError. */
export async function loadSeedSpec(dir: string): Promise<SeedSpec> {
  const file = path.join(dir, "sandbox.yaml");
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    throw new InvalidInputError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  return parseSeedSpec(file, text);
}

/** Parses `sandbox.yaml` text (exported for tests). */
export function parseSeedSpec(file: string, text: string): SeedSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const c = new Collector(file, lines);
  for (const error of doc.errors) {
    const [line, col] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : [1, 1];
    c.errors.push(`${file}:${line}:${col}: ${error.message.split("\n")[0] ?? "YAML error"}`);
  }
  if (c.errors.length > 0) throw new InvalidInputError(c.errors.join("\n"));
  const clusters = readClusters(doc, c);
  if (c.errors.length > 0) throw new InvalidInputError(c.errors.join("\n"));
  return { file, clusters };
}

function readClusters(doc: Document, c: Collector): SeedCluster[] {
  const root = doc.contents;
  if (!isMap(root)) {
    c.add(root, "", "sandbox.yaml must be a mapping with apiVersion, kind and clusters");
    return [];
  }
  checkKeys(root, "", ["apiVersion", "kind", "clusters"], c);
  if (root.get("apiVersion") !== "bosun.dev/v1alpha1") {
    c.add(root.get("apiVersion", true) ?? root, "apiVersion", 'apiVersion must be "bosun.dev/v1alpha1"');
  }
  if (root.get("kind") !== "Sandbox") c.add(root.get("kind", true) ?? root, "kind", 'kind must be "Sandbox"');
  const list = root.get("clusters", true) as YamlNode | undefined;
  if (!isSeq(list) || list.items.length === 0) {
    c.add(list ?? root, "clusters", "clusters must be a non-empty list");
    return [];
  }
  const seen = new Set<string>();
  const nodeNames = new Set<string>();
  return list.items.flatMap((item, i) => {
    const at = `clusters[${i}]`;
    if (!isMap(item)) {
      c.add(item as YamlNode, at, "a cluster must be a mapping");
      return [];
    }
    checkKeys(item, at, ["name", "kubernetesVersion", "controlPlaneEndpoint", "nodes"], c);
    const name = stringField(item, "name", `${at}.name`, c, DNS_LABEL, "a DNS-1123 label");
    if (name !== undefined) {
      if (seen.has(name)) c.add(item.get("name", true), `${at}.name`, `duplicate cluster name "${name}"`);
      seen.add(name);
    }
    const version = versionField(item, "kubernetesVersion", `${at}.kubernetesVersion`, c, true);
    const endpointNode = item.get("controlPlaneEndpoint", true) as YamlNode | undefined;
    const endpoint = endpointNode === undefined ? `${name ?? "cluster"}.sandbox.internal:6443` : String(item.get("controlPlaneEndpoint"));
    const nodes = readNodes(item.get("nodes", true), item, at, c, nodeNames);
    if (name === undefined || version === undefined) return [];
    return [{ name, kubernetesVersion: version, controlPlaneEndpoint: endpoint, nodes }];
  });
}

function readNodes(
  list: YamlNode | undefined,
  parent: YamlNode,
  at: string,
  c: Collector,
  nodeNames: Set<string>,
): SeedNode[] {
  if (!isSeq(list) || list.items.length === 0) {
    c.add(list ?? parent, `${at}.nodes`, "nodes must be a non-empty list");
    return [];
  }
  const nodes = list.items.flatMap((item, j) => {
    const nat = `${at}.nodes[${j}]`;
    if (!isMap(item)) {
      c.add(item as YamlNode, nat, "a node must be a mapping");
      return [];
    }
    checkKeys(item, nat, ["name", "role", "zone", "kubeletVersion"], c);
    const name = stringField(item, "name", `${nat}.name`, c, DNS_SUBDOMAIN, "a DNS-1123 subdomain");
    if (name !== undefined) {
      // Node names are cluster-wide in Kubernetes but the sandbox asks for fleet-wide uniqueness, so a
      // name alone identifies a node in the agent's records.
      if (nodeNames.has(name)) c.add(item.get("name", true), `${nat}.name`, `duplicate node name "${name}"`);
      nodeNames.add(name);
    }
    const roleNode = item.get("role", true) as YamlNode | undefined;
    const role = item.get("role");
    if (role !== "control-plane" && role !== "worker") {
      c.add(roleNode ?? item, `${nat}.role`, 'role must be "control-plane" or "worker"');
    }
    const zone = item.get("zone");
    if (zone !== undefined && typeof zone !== "string") c.add(item.get("zone", true), `${nat}.zone`, "zone must be a string");
    const kubeletVersion = versionField(item, "kubeletVersion", `${nat}.kubeletVersion`, c, false);
    if (name === undefined || (role !== "control-plane" && role !== "worker")) return [];
    const node: SeedNode = { name, role };
    if (typeof zone === "string") node.zone = zone;
    if (kubeletVersion !== undefined) node.kubeletVersion = kubeletVersion;
    return [node];
  });
  if (!nodes.some((n) => n.role === "control-plane") && c.errors.length === 0) {
    c.add(list, `${at}.nodes`, "a cluster needs at least one control-plane node");
  }
  return nodes;
}

function checkKeys(map: YamlNode, at: string, allowed: readonly string[], c: Collector): void {
  if (!isMap(map)) return;
  for (const pair of map.items) {
    const key = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
    if (!allowed.includes(key)) {
      c.add(pair.key as YamlNode, at ? `${at}.${key}` : key, `unknown field "${key}" (allowed: ${allowed.join(", ")})`);
    }
  }
}

function stringField(map: YamlNode, key: string, at: string, c: Collector, pattern: RegExp, what: string): string | undefined {
  if (!isMap(map)) return undefined;
  const value = map.get(key);
  const node = (map.get(key, true) as YamlNode | undefined) ?? map;
  if (typeof value !== "string" || value === "") {
    c.add(node, at, `${key} is required and must be a string`);
    return undefined;
  }
  if (!pattern.test(value) || value.length > 63) {
    c.add(node, at, `${key} "${value}" must be ${what}`);
    return undefined;
  }
  return value;
}

function versionField(map: YamlNode, key: string, at: string, c: Collector, required: boolean): string | undefined {
  if (!isMap(map)) return undefined;
  const raw = map.get(key);
  const node = (map.get(key, true) as YamlNode | undefined) ?? map;
  if (raw === undefined && !required) return undefined;
  const text = typeof raw === "string" ? raw.replace(/^v/, "") : undefined;
  if (text === undefined || !/^\d+\.\d+\.\d+$/.test(text) || !semver.valid(text)) {
    c.add(node, at, `${key} must be a version MAJOR.MINOR.PATCH in quotes, e.g. "1.34.2"`);
    return undefined;
  }
  return text;
}
