/**
 * `sandbox.yaml`: what a sandbox cluster looks like when it starts — its Kubernetes version, its nodes
 * (name, role, zone) and, for a cluster managed through Cluster API, which other sandbox cluster plays its
 * management cluster. Read with source positions so a mistake is reported as `file:line:col: message`.
 */
import fs from "node:fs/promises";
import path from "node:path";
import semver from "semver";
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Document } from "yaml";
import { identity } from "../identity.js";
import { CLUSTER_GROUP } from "./capi-crds.js";
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

/** Where a sandbox cluster's Cluster API objects live: another sandbox cluster plays its management cluster. */
export interface SeedClusterAPI {
  /** The sandbox cluster that plays the management cluster (its kubeconfig context has this name). */
  management: string;
  /** Namespace of the `Cluster`, `KubeadmControlPlane` and `MachineDeployment` in the management cluster. */
  namespace: string;
  /** Name of the `Cluster` object; defaults to the sandbox cluster's name. */
  name: string;
}

/** One seeded cluster. */
export interface SeedCluster {
  name: string;
  /** `MAJOR.MINOR.PATCH`, no leading v. */
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  nodes: SeedNode[];
  /** `--runtime-config` entries of the cluster's kube-apiserver (`group/version=true|false`), to serve an API it serves off by default. */
  runtimeConfig?: string[];
  /** Set when the cluster is managed through Cluster API from another sandbox cluster. */
  clusterAPI?: SeedClusterAPI;
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
  const managed: ManagedRef[] = [];
  const clusters = list.items.flatMap((item, i) => {
    const at = `clusters[${i}]`;
    if (!isMap(item)) {
      c.add(item as YamlNode, at, "a cluster must be a mapping");
      return [];
    }
    checkKeys(item, at, ["name", "kubernetesVersion", "controlPlaneEndpoint", "nodes", "clusterAPI", "runtimeConfig"], c);
    const name = stringField(item, "name", `${at}.name`, c, DNS_LABEL, "a DNS-1123 label");
    if (name !== undefined) {
      if (seen.has(name)) c.add(item.get("name", true), `${at}.name`, `duplicate cluster name "${name}"`);
      seen.add(name);
    }
    const version = versionField(item, "kubernetesVersion", `${at}.kubernetesVersion`, c, true);
    const endpointNode = item.get("controlPlaneEndpoint", true) as YamlNode | undefined;
    const endpoint = endpointNode === undefined ? `${name ?? "cluster"}.sandbox.internal:6443` : String(item.get("controlPlaneEndpoint"));
    const capiNode = item.get("clusterAPI", true) as YamlNode | undefined;
    const capi = capiNode === undefined ? undefined : readClusterAPI(capiNode, `${at}.clusterAPI`, name, c);
    const nodes = readNodes(item.get("nodes", true), item, at, c, nodeNames, capi === undefined ? undefined : version);
    if (name === undefined || version === undefined) return [];
    const cluster: SeedCluster = { name, kubernetesVersion: version, controlPlaneEndpoint: endpoint, nodes };
    const runtimeConfig = readRuntimeConfig(item.get("runtimeConfig", true), `${at}.runtimeConfig`, c);
    if (runtimeConfig !== undefined) cluster.runtimeConfig = runtimeConfig;
    if (capi !== undefined) {
      cluster.clusterAPI = capi.value;
      managed.push({ ...capi, cluster: name, at: `${at}.clusterAPI` });
    }
    return [cluster];
  });
  checkManagement(managed, seen, c);
  return clusters;
}

/** A parsed `clusterAPI` with the YAML nodes its errors point at. */
interface ParsedClusterAPI {
  value: SeedClusterAPI;
  managementNode: YamlNode;
  mapNode: YamlNode;
}

interface ManagedRef extends ParsedClusterAPI {
  cluster: string;
  at: string;
}

function readClusterAPI(map: YamlNode, at: string, clusterName: string | undefined, c: Collector): ParsedClusterAPI | undefined {
  if (!isMap(map)) {
    c.add(map, at, "clusterAPI must be a mapping with management, namespace and optionally name");
    return undefined;
  }
  checkKeys(map, at, ["management", "namespace", "name"], c);
  const management = stringField(map, "management", `${at}.management`, c, DNS_LABEL, "the name of another sandbox cluster");
  const namespace = stringField(map, "namespace", `${at}.namespace`, c, DNS_LABEL, "a DNS-1123 label");
  const name = map.get("name") === undefined ? clusterName : stringField(map, "name", `${at}.name`, c, DNS_LABEL, "a DNS-1123 label");
  if (management === undefined || namespace === undefined || name === undefined) return undefined;
  return { value: { management, namespace, name }, managementNode: map.get("management", true) as YamlNode, mapNode: map };
}

/**
 * Cross-cluster rules of `clusterAPI`: the management cluster is another cluster of the file, management
 * links form no cycle, and no two clusters claim the same Cluster object.
 */
function checkManagement(managed: readonly ManagedRef[], names: ReadonlySet<string>, c: Collector): void {
  const managerOf = new Map(managed.map((m) => [m.cluster, m.value.management]));
  const claimed = new Map<string, string>();
  const reportedCycles = new Set<string>();
  for (const m of managed) {
    const { management, namespace, name } = m.value;
    if (management === m.cluster) {
      c.add(m.managementNode, `${m.at}.management`, `cluster "${m.cluster}" cannot be its own Cluster API management cluster`);
    } else if (!names.has(management)) {
      c.add(m.managementNode, `${m.at}.management`, `unknown management cluster "${management}" (clusters: ${[...names].join(", ")})`);
    } else {
      const cycle = managementCycle(m.cluster, managerOf);
      const key = cycle ? [...cycle].sort().join(",") : "";
      if (cycle && !reportedCycles.has(key)) {
        reportedCycles.add(key);
        c.add(m.managementNode, `${m.at}.management`, `Cluster API management clusters form a cycle: ${[...cycle, m.cluster].join(" → ")}`);
      }
    }
    const object = identity({ cluster: management, group: CLUSTER_GROUP, kind: "Cluster", namespace, name });
    const other = claimed.get(object);
    if (other !== undefined) {
      c.add(m.mapNode, m.at, `clusters "${other}" and "${m.cluster}" both claim Cluster API object ${object}`);
    } else {
      claimed.set(object, m.cluster);
    }
  }
}

/** The clusters on the management chain from `start` back to `start`, or undefined when the chain ends. */
function managementCycle(start: string, managerOf: ReadonlyMap<string, string>): string[] | undefined {
  const chain = [start];
  for (let next = managerOf.get(start); next !== undefined; next = managerOf.get(next)) {
    if (next === start) return chain;
    if (chain.includes(next)) return undefined; // a cycle that does not include start: reported from its members
    chain.push(next);
  }
  return undefined;
}

/**
 * Reads a cluster's nodes. `capiVersion` is set (to the cluster's version) for a Cluster API cluster, whose
 * nodes are seeded as converged: control-plane nodes at the KubeadmControlPlane's version (the cluster's),
 * and every worker at the one version of its MachineDeployment.
 */
function readNodes(
  list: YamlNode | undefined,
  parent: YamlNode,
  at: string,
  c: Collector,
  nodeNames: Set<string>,
  capiVersion?: string,
): SeedNode[] {
  if (!isSeq(list) || list.items.length === 0) {
    c.add(list ?? parent, `${at}.nodes`, "nodes must be a non-empty list");
    return [];
  }
  const workerVersions: { version: string; node: YamlNode; at: string; of: string }[] = [];
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
    if (capiVersion !== undefined && kubeletVersion !== undefined) {
      const versionNode = item.get("kubeletVersion", true) as YamlNode;
      if (role === "control-plane" && kubeletVersion !== capiVersion) {
        c.add(versionNode, `${nat}.kubeletVersion`, `a control-plane node of a Cluster API cluster runs its KubeadmControlPlane's version, the cluster's kubernetesVersion "${capiVersion}"`);
      }
      if (role === "worker") workerVersions.push({ version: kubeletVersion, node: versionNode, at: `${nat}.kubeletVersion`, of: nat });
    } else if (capiVersion !== undefined && role === "worker") {
      workerVersions.push({ version: capiVersion, node: item, at: nat, of: `${nat}, the cluster's kubernetesVersion` });
    }
    if (name === undefined || (role !== "control-plane" && role !== "worker")) return [];
    const node: SeedNode = { name, role };
    if (typeof zone === "string") node.zone = zone;
    if (kubeletVersion !== undefined) node.kubeletVersion = kubeletVersion;
    return [node];
  });
  const [first] = workerVersions;
  const odd = workerVersions.find((w) => w.version !== first?.version);
  if (first && odd) {
    c.add(odd.node, odd.at, `the workers of a Cluster API cluster share their MachineDeployment's version: "${odd.version}" differs from "${first.version}" of ${first.of}`);
  }
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

/** `group/version=true|false`: what kube-apiserver's `--runtime-config` takes for one API version. */
const RUNTIME_CONFIG_ENTRY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?=(true|false)$/;

function readRuntimeConfig(node: YamlNode | undefined, at: string, c: Collector): string[] | undefined {
  if (node === undefined) return undefined;
  if (!isSeq(node)) {
    c.add(node, at, "runtimeConfig must be a list of group/version=true|false");
    return undefined;
  }
  const entries: string[] = [];
  node.items.forEach((entry, i) => {
    const value = isScalar(entry) ? entry.value : undefined;
    if (typeof value !== "string" || !RUNTIME_CONFIG_ENTRY.test(value)) {
      c.add(entry as YamlNode, `${at}[${i}]`, `runtimeConfig entries are group/version=true|false, e.g. "networking.k8s.io/v1beta1=true"`);
    } else entries.push(value);
  });
  return entries;
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
