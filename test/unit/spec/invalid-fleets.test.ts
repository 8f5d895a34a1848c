/**
 * Table test: small mutations of a valid fleet, each rejected with the expected file, line and message, and
 * none of them loaded even in part.
 */
import fs from "node:fs/promises";
import os from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { formatIssue } from "../../../src/spec/issues.js";
import type { SpecLimits } from "../../../src/spec/limits.js";
import { loadFleet } from "../../../src/spec/load.js";
import { fleetBuilder, lineOf, type FleetBuilder } from "./builder.js";

interface Case {
  name: string;
  mutate: (b: FleetBuilder) => FleetBuilder;
  file: string;
  /** Text on the line the error must point at; line 1 when left out. */
  needle?: string;
  nth?: number;
  message: string;
  limits?: Partial<SpecLimits>;
}

const FLEET = "fleet.yaml";
const CANARY = "clusters/canary.yaml";
const PROD = "clusters/prod.yaml";
const written: string[] = [];

const cases: Case[] = [
  // Shape and unknown fields.
  { name: "misspelt fleet field", mutate: (b) => b.set(FLEET, ["spec", "rolout"], {}), file: FLEET, needle: "rolout:", message: 'unknown field "rolout" (did you mean "rollout"?)' },
  { name: "misspelt cluster field", mutate: (b) => b.set(PROD, ["spec", "topology", "controlPlane", "replica"], 3), file: PROD, needle: "replica:", message: 'unknown field "replica" (did you mean "replicas"?)' },
  { name: "wrong apiVersion", mutate: (b) => b.set(PROD, ["apiVersion"], "bosun.dev/v1"), file: PROD, needle: "apiVersion", message: 'must be "bosun.dev/v1alpha1"' },
  { name: "unknown kind", mutate: (b) => b.set(PROD, ["kind"], "Clustr"), file: PROD, needle: "kind: Clustr", message: 'unknown kind "Clustr"' },
  { name: "missing metadata.name", mutate: (b) => b.delete(PROD, ["metadata", "name"]), file: PROD, needle: "metadata:", message: 'missing required field "name"' },
  { name: "wrong type for retain", mutate: (b) => b.set(FLEET, ["spec", "defaults", "backup", "etcd", "retain"], "many"), file: FLEET, needle: "retain:", message: "must be a whole number" },
  { name: "retain below minimum", mutate: (b) => b.set(FLEET, ["spec", "defaults", "backup", "etcd", "retain"], 0), file: FLEET, needle: "retain:", message: "must be at least 1" },
  { name: "unknown skew policy", mutate: (b) => b.set(PROD, ["spec", "upgrade", "skewPolicy"], "fast"), file: PROD, needle: "skewPolicy", message: 'must be one of "strict", "efficient"' },
  { name: "maxUnavailable over 100%", mutate: (b) => b.set(PROD, ["spec", "upgrade", "workers", "maxUnavailable"], "150%"), file: PROD, needle: "maxUnavailable", message: "does not have the expected form" },
  { name: "endpoint without port", mutate: (b) => b.set(PROD, ["spec", "topology", "endpoint"], "api.example.com"), file: PROD, needle: "endpoint:", message: "is not host:port" },
  { name: "duplicate zones", mutate: (b) => b.set(PROD, ["spec", "topology", "controlPlane", "zones"], ["a", "b", "a"]), file: PROD, needle: "- a", nth: 2, message: 'duplicate entry the string "a"' },

  // Versions.
  { name: "version read as a number", mutate: (b) => b.set(PROD, ["spec", "kubernetes", "version"], 1.34), file: PROD, needle: "version: 1.34", message: "YAML read a number, put the value in quotes" },
  { name: "version with leading v", mutate: (b) => b.set(PROD, ["spec", "kubernetes", "version"], "v1.34.2"), file: PROD, needle: "v1.34.2", message: "without the leading v" },
  { name: "version without patch", mutate: (b) => b.set(FLEET, ["spec", "defaults", "kubernetes", "version"], "1.34"), file: FLEET, needle: '"1.34"', message: "is not a Kubernetes version MAJOR.MINOR.PATCH" },
  { name: "two intermediate versions of one minor", mutate: (b) => b.set(PROD, ["spec", "upgrade"], { intermediateVersions: ["1.33.4", "1.33.9"] }), file: PROD, needle: "1.33.9", message: "upgrade.intermediateVersions names 1.33 twice (first at line" },
  { name: "intermediate version not below the desired minor", mutate: (b) => b.set(PROD, ["spec", "upgrade"], { intermediateVersions: ["1.34.1"] }), file: PROD, needle: "1.34.1", message: "entry 1.34.1 is not below the desired version's minor (1.34" },
  { name: "intermediate version with a leading v", mutate: (b) => b.set(PROD, ["spec", "upgrade"], { intermediateVersions: ["v1.33.4"] }), file: PROD, needle: "v1.33.4", message: "without the leading v" },
  { name: "no version anywhere", mutate: (b) => b.delete(FLEET, ["spec", "defaults", "kubernetes"]), file: CANARY, needle: "name: canary", message: 'cluster "canary" has no kubernetes.version' },

  // Names.
  { name: "cluster name not a DNS label", mutate: (b) => b.set(PROD, ["metadata", "name"], "Prod_EU"), file: PROD, needle: "Prod_EU", message: "is not a DNS-1123 label" },
  { name: "add-on name not a DNS label", mutate: (b) => b.set(PROD, ["spec", "addons", 0, "name"], "Web!"), file: PROD, needle: "Web!", message: "is not a DNS-1123 label" },
  { name: "bad label value", mutate: (b) => b.set(PROD, ["metadata", "labels", "team"], "a b"), file: PROD, needle: "team:", message: "is not a label value" },
  { name: "duplicate cluster name", mutate: (b) => b.cluster("clusters/prod2.yaml", "prod", { env: "prod" }), file: "clusters/prod2.yaml", needle: "name: prod", message: 'cluster "prod" is defined twice (first in clusters/prod.yaml:' },
  { name: "duplicate add-on in a cluster", mutate: (b) => b.set(PROD, ["spec", "addons", 1], { name: "web", kustomize: { path: "kustomize/base" } }), file: PROD, needle: "name: web", nth: 2, message: 'add-on "web" is defined twice' },
  { name: "duplicate add-on in defaults", mutate: (b) => b.set(FLEET, ["spec", "defaults", "addons", 1], { name: "metrics", kustomize: { path: "kustomize/base" } }), file: FLEET, needle: "name: metrics", nth: 2, message: 'add-on "metrics" is defined twice' },
  { name: "duplicate wave name", mutate: (b) => b.set(FLEET, ["spec", "rollout", "waves", 1, "name"], "canary"), file: FLEET, needle: "name: canary", nth: 2, message: 'wave name "canary" is used twice' },
  { name: "duplicate window name", mutate: (b) => b.set(FLEET, ["spec", "windows", 1], { name: "nights", kind: "deny", schedule: "0 0 * * *", duration: "1h", timeZone: "UTC" }), file: FLEET, needle: "name: nights", nth: 2, message: 'window name "nights" is used twice' },

  // Topology.
  { name: "even control-plane replicas", mutate: (b) => b.set(PROD, ["spec", "topology", "controlPlane", "replicas"], 4), file: PROD, needle: "replicas: 4", message: "control-plane replicas must be odd" },
  { name: "even replicas in the defaults", mutate: (b) => b.set(FLEET, ["spec", "defaults", "topology", "controlPlane", "replicas"], 2), file: FLEET, needle: "replicas: 2", message: "control-plane replicas must be odd" },
  { name: "even external etcd members", mutate: (b) => b.set(PROD, ["spec", "topology", "etcd"], { mode: "external", endpoints: ["https://e1:2379", "https://e2:2379"] }), file: PROD, needle: "endpoints:", message: "odd number of members" },
  { name: "external etcd without endpoints", mutate: (b) => b.set(PROD, ["spec", "topology", "etcd", "mode"], "external"), file: PROD, needle: "etcd:", message: "external etcd needs endpoints" },
  { name: "endpoints with stacked etcd", mutate: (b) => b.set(PROD, ["spec", "topology", "etcd", "endpoints"], ["https://e1:2379"]), file: PROD, needle: "endpoints:", message: "endpoints are only for etcd mode external" },

  // Connection and provider.
  { name: "connection both ways", mutate: (b) => b.set(PROD, ["spec", "connection", "kubeconfig"], { path: "/etc/kube/prod" }), file: PROD, needle: "connection:", message: "set exactly one of context, kubeconfig (found context and kubeconfig)" },
  { name: "kubeconfig path and env", mutate: (b) => b.set(PROD, ["spec", "connection"], { kubeconfig: { path: "/k", env: "KUBE_PROD" } }), file: PROD, needle: "kubeconfig:", message: "kubeconfig needs exactly one of path or env (found both)" },
  { name: "no connection", mutate: (b) => b.delete(PROD, ["spec", "connection"]), file: PROD, needle: "name: prod", message: 'cluster "prod" has no connection' },
  { name: "two providers", mutate: (b) => b.set(PROD, ["spec", "provider"], { kubeadm: {}, clusterAPI: { context: "mgmt", namespace: "fleet", name: "prod" } }), file: PROD, needle: "provider:", message: "set exactly one of kubeadm, clusterAPI (found kubeadm and clusterAPI)" },
  { name: "empty provider", mutate: (b) => b.set(PROD, ["spec", "provider"], {}), file: PROD, needle: "provider:", message: "set exactly one of kubeadm, clusterAPI" },
  { name: "Cluster API without name", mutate: (b) => b.set(PROD, ["spec", "provider"], { clusterAPI: { context: "mgmt", namespace: "fleet" } }), file: PROD, needle: "clusterAPI:", message: 'missing required field "name"' },

  // Add-ons.
  { name: "helm and kustomize", mutate: (b) => b.set(PROD, ["spec", "addons", 0, "kustomize"], { path: "kustomize/base" }), file: PROD, needle: "- name: web", message: 'add-on "web" needs exactly one of helm or kustomize (found both)' },
  { name: "neither helm nor kustomize", mutate: (b) => b.delete(PROD, ["spec", "addons", 0, "helm"]), file: PROD, needle: "- name: web", message: "(found neither)" },
  { name: "repo chart without version", mutate: (b) => b.delete(PROD, ["spec", "addons", 0, "helm", "version"]), file: PROD, needle: "helm:", message: "a chart from a repo must pin its version" },
  { name: "chart version range", mutate: (b) => b.set(PROD, ["spec", "addons", 0, "helm", "version"], "^1.2.0"), file: PROD, needle: "version:", message: "is a version range, not a pinned chart version" },
  { name: "repo not a URL", mutate: (b) => b.set(PROD, ["spec", "addons", 0, "helm", "repo"], "charts.example.com"), file: PROD, needle: "repo:", message: "does not have the expected form" },
  { name: "repo chart name with a digest", mutate: (b) => b.set(PROD, ["spec", "addons", 0, "helm", "chart"], "web@sha256:0123"), file: PROD, needle: "chart: web@", message: "with repo, chart is the chart's name in the repository" },
  { name: "OCI repo with a query", mutate: (b) => b.set(PROD, ["spec", "addons", 0, "helm", "repo"], "oci://registry.example.com/charts?x=1"), file: PROD, needle: "repo:", message: "an OCI registry path has no query or fragment" },
  { name: "dependsOn unknown add-on", mutate: (b) => b.set(CANARY, ["spec", "addons", 0, "dependsOn"], ["metrics", "nope"]), file: CANARY, needle: "- nope", message: 'add-on "monitoring" depends on "nope", which this cluster does not have' },
  { name: "dependsOn itself", mutate: (b) => b.set(CANARY, ["spec", "addons", 0, "dependsOn"], ["monitoring"]), file: CANARY, needle: "- monitoring", message: 'add-on "monitoring" depends on itself' },
  {
    name: "dependsOn cycle",
    mutate: (b) => b.set(CANARY, ["spec", "addons", 1], { name: "logging", kustomize: { path: "kustomize/base" }, dependsOn: ["monitoring"] }).set(CANARY, ["spec", "addons", 0, "dependsOn"], ["logging"]),
    file: CANARY,
    needle: "dependsOn:",
    nth: 2,
    message: "add-on dependencies form a cycle: logging → monitoring → logging",
  },
  { name: "dependsOn a disabled add-on", mutate: (b) => b.set(CANARY, ["spec", "addons", 1], { name: "metrics", enabled: false }), file: CANARY, needle: "- metrics", message: 'depends on "metrics", which is disabled in this cluster' },

  // Paths.
  { name: "kustomize path climbs out", mutate: (b) => b.set(CANARY, ["spec", "addons", 0, "kustomize", "path"], "../../etc"), file: CANARY, needle: "path: ../../etc", message: 'kustomize path "../../etc" leaves the fleet directory' },
  { name: "kustomize absolute path", mutate: (b) => b.set(CANARY, ["spec", "addons", 0, "kustomize", "path"], "/etc"), file: CANARY, needle: "path: /etc", message: "is an absolute path" },
  { name: "kustomize path is a symlink out", mutate: (b) => b.symlink("kustomize/evil", os.tmpdir()).set(CANARY, ["spec", "addons", 0, "kustomize", "path"], "kustomize/evil"), file: CANARY, needle: "path: kustomize/evil", message: "is a symlink to a place outside the fleet directory" },
  { name: "overlay holds a symlink out", mutate: (b) => b.symlink("kustomize/overlays/canary/secret.yaml", "/etc/hostname"), file: CANARY, needle: "path: kustomize/overlays/canary", message: "holds a symlink to a place outside the fleet directory" },
  { name: "kustomize path without kustomization", mutate: (b) => b.set(CANARY, ["spec", "addons", 0, "kustomize", "path"], "values"), file: CANARY, needle: "path: values", message: 'kustomize path "values" has no kustomization.yaml' },
  { name: "values file missing", mutate: (b) => b.set(FLEET, ["spec", "defaults", "addons", 0, "helm", "valuesFiles"], ["values/nope.yaml"]), file: FLEET, needle: "values/nope.yaml", message: "does not exist in the fleet directory" },
  { name: "values file is a symlink out", mutate: (b) => b.remove("values/metrics.yaml").symlink("values/metrics.yaml", "/etc/hostname"), file: FLEET, needle: "values/metrics.yaml", message: "is a symlink to a place outside the fleet directory" },
  { name: "upgrade script missing", mutate: (b) => b.set(FLEET, ["spec", "defaults", "provider"], { kubeadm: { packageManager: "apt", upgradeScript: "scripts/upgrade.sh" } }), file: FLEET, needle: "upgradeScript: scripts/upgrade.sh", message: 'upgrade script "scripts/upgrade.sh" does not exist in the fleet directory' },
  { name: "upgrade script empty", mutate: (b) => b.text("scripts/upgrade.sh", "  \n").set(FLEET, ["spec", "defaults", "provider"], { kubeadm: { upgradeScript: "scripts/upgrade.sh" } }), file: FLEET, needle: "upgradeScript: scripts/upgrade.sh", message: 'upgrade script "scripts/upgrade.sh" is empty' },
  { name: "upgrade script outside the fleet", mutate: (b) => b.set(FLEET, ["spec", "defaults", "provider"], { kubeadm: { upgradeScript: "../upgrade.sh" } }), file: FLEET, needle: "upgradeScript: ../upgrade.sh", message: "leaves the fleet directory" },
  { name: "values file not a map", mutate: (b) => b.text("values/metrics.yaml", "- just\n- a list\n"), file: FLEET, needle: "values/metrics.yaml", message: "must hold a map of values" },
  { name: "local chart without Chart.yaml", mutate: (b) => b.set(FLEET, ["spec", "defaults", "addons", 0, "helm", "chart"], "values"), file: FLEET, needle: "chart: values", message: "has no Chart.yaml" },
  { name: "local chart climbs out", mutate: (b) => b.set(FLEET, ["spec", "defaults", "addons", 0, "helm", "chart"], "charts/../../x"), file: FLEET, needle: "chart: charts/../../x", message: "leaves the fleet directory" },
  { name: "local chart version differs from Chart.yaml", mutate: (b) => b.set(FLEET, ["spec", "defaults", "addons", 0, "helm", "version"], "0.2.0"), file: FLEET, needle: "chart: charts/metrics", message: "does not match the local chart's Chart.yaml version 0.1.0" },

  // Waves, windows, schedules.
  { name: "cluster in no wave", mutate: (b) => b.cluster("clusters/dev.yaml", "dev", { env: "dev" }), file: "clusters/dev.yaml", needle: "name: dev", message: 'cluster "dev" (labels env=dev) is in no rollout wave' },
  { name: "window hour out of range", mutate: (b) => b.set(FLEET, ["spec", "windows", 0, "schedule"], "0 25 * * *"), file: FLEET, needle: "0 25 * * *", message: "hour 25 is outside 0-23" },
  { name: "backup schedule not cron", mutate: (b) => b.set(FLEET, ["spec", "defaults", "backup", "etcd", "schedule"], "every day"), file: FLEET, needle: "every day", message: "it needs 5 fields" },
  { name: "schedule that never fires", mutate: (b) => b.set(PROD, ["spec", "backup", "etcd", "schedule"], "0 0 31 2 *"), file: PROD, needle: "0 0 31 2 *", message: "never fires" },
  { name: "unknown time zone", mutate: (b) => b.set(FLEET, ["spec", "windows", 0, "timeZone"], "Mars/Olympus"), file: FLEET, needle: "Mars/Olympus", message: "is not an IANA time zone" },
  { name: "duration in words", mutate: (b) => b.set(FLEET, ["spec", "windows", 0, "duration"], "6 hours"), file: FLEET, needle: "6 hours", message: '"6 hours" is not a duration' },
  { name: "zero-length window", mutate: (b) => b.set(FLEET, ["spec", "windows", 0, "duration"], "0s"), file: FLEET, needle: "duration: 0s", message: "must stay open for longer than 0s" },
  { name: "In without values", mutate: (b) => b.set(FLEET, ["spec", "rollout", "waves", 1, "selector", "matchExpressions"], [{ key: "env", operator: "In" }]), file: FLEET, needle: "- key: env", message: "operator In needs at least one value" },
  { name: "backup without schedule", mutate: (b) => b.delete(FLEET, ["spec", "defaults", "backup", "etcd", "schedule"]), file: FLEET, needle: "etcd:", message: "etcd backups need a schedule" },

  // Documents, YAML and limits.
  { name: "YAML syntax error", mutate: (b) => b.text(PROD, "apiVersion: bosun.dev/v1alpha1\nkind: Cluster\nmetadata:\n\tname: prod\n"), file: PROD, needle: "\tname: prod", message: "YAML: Tabs are not allowed as indentation" },
  { name: "duplicate YAML key", mutate: (b) => b.text(PROD, "apiVersion: bosun.dev/v1alpha1\nkind: Cluster\nkind: Cluster\n"), file: PROD, needle: "kind: Cluster", nth: 2, message: "YAML: Map keys must be unique" },
  { name: "Fleet document in a cluster file", mutate: (b) => b.append(PROD, { apiVersion: "bosun.dev/v1alpha1", kind: "Fleet", metadata: { name: "x" }, spec: {} }), file: PROD, needle: "kind: Fleet", message: "a Fleet document belongs in fleet.yaml" },
  { name: "no fleet.yaml", mutate: (b) => b.remove(FLEET), file: FLEET, message: "no fleet.yaml in the fleet directory" },
  { name: "a list instead of a document", mutate: (b) => b.text(PROD, "- a\n- b\n"), file: PROD, needle: "- a", message: "a spec document must be a map" },
  {
    name: "too many aliases",
    mutate: (b) => b.text(PROD, "apiVersion: bosun.dev/v1alpha1\nkind: Cluster\nmetadata: &m { name: prod }\nx1: *m\nx2: *m\nx3: *m\n"),
    file: PROD,
    needle: "x3: *m",
    message: "more than 2 YAML aliases in one document",
    limits: { maxAliases: 2 },
  },
  { name: "file over the size limit", mutate: (b) => b, file: PROD, message: "is larger than 200 bytes", limits: { maxFileBytes: 200 } },
];

afterAll(async () => {
  await Promise.all(written.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

describe("invalid fleets", () => {
  it("the base fleet is valid", async () => {
    const dir = await fleetBuilder().write();
    written.push(dir);
    const result = await loadFleet(dir);
    expect(result.ok ? [] : result.errors.map(formatIssue)).toEqual([]);
  });

  it("has at least 40 cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases)("$name", async ({ mutate, file, needle, nth, message, limits }) => {
    const builder = mutate(fleetBuilder());
    const text = builder.render().get(file) ?? "";
    const line = needle === undefined ? 1 : lineOf(text, needle, nth);
    const dir = await builder.write();
    written.push(dir);
    const result = await loadFleet(dir, limits ? { limits } : {});
    expect(result.ok).toBe(false);
    // Nothing half-loaded: an invalid fleet carries no value at all.
    expect("value" in result).toBe(false);
    const errors = result.ok ? [] : result.errors;
    const match = errors.find((e) => e.file === file && e.line === line && e.message.includes(message));
    expect(match, `expected ${file}:${line}: …${message}… among:\n${errors.map(formatIssue).join("\n")}`).toBeDefined();
  });
});
