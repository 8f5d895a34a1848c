/**
 * From a merged, valid cluster spec to a `DesiredCluster`: built-in defaults filled in, alternatives turned
 * into discriminated unions, durations into seconds, add-ons disabled with `enabled: false` dropped and the
 * rest put in dependency order. Runs only when the whole fleet is free of errors.
 */
import path from "node:path";
import { durationSeconds } from "./duration.js";
import type { Addon, ClusterSpec, Connection as WrittenConnection, Provider as WrittenProvider } from "./generated.js";
import type { Connection, DesiredAddon, DesiredCluster, Provider, SpecOrigin, UpgradePolicy } from "./types.js";

/** Built-in defaults, for what neither the cluster nor the fleet's defaults say. */
export const BUILT_IN_DEFAULTS = {
  skewPolicy: "strict",
  drainTimeout: "10m",
  maxUnavailable: 1,
  controlPlaneReplicas: 1,
  packageManager: "apt",
  backupRetain: 7,
  backupBeforeUpgrade: true,
  backupHostPath: "/var/lib/etcd-backups",
  addonTimeout: "5m",
} as const;

/** Chart.yaml facts of local charts, by normalized path. */
export type ChartMetaByPath = ReadonlyMap<string, { name: string | null; version: string | null }>;

/** Everything about a cluster that is resolved outside its spec. */
export interface ClusterContext {
  name: string;
  labels: Record<string, string>;
  origin: SpecOrigin;
  wave: string;
  windows: string[];
  /** The cluster's wave's `drift.correct` (used when the cluster's spec does not say). */
  waveDrift: boolean;
}

/** Builds the normalized cluster. The spec must have passed every rule (version, connection and provider set). */
export function normalizeCluster(context: ClusterContext, spec: ClusterSpec, charts: ChartMetaByPath): DesiredCluster {
  const etcdBackup = spec.backup?.etcd;
  const { waveDrift, ...resolved } = context;
  return {
    ...resolved,
    drift: { correct: spec.drift?.correct ?? waveDrift },
    connection: normalizeConnection(spec.connection),
    provider: normalizeProvider(spec.provider),
    kubernetes: { version: spec.kubernetes?.version ?? "" },
    upgrade: normalizeUpgrade(spec),
    topology: {
      controlPlane: {
        replicas: spec.topology?.controlPlane?.replicas ?? BUILT_IN_DEFAULTS.controlPlaneReplicas,
        zones: spec.topology?.controlPlane?.zones ?? [],
      },
      etcd: spec.topology?.etcd?.mode === "external" ? { mode: "external", endpoints: spec.topology.etcd.endpoints ?? [] } : { mode: "stacked" },
      endpoint: spec.topology?.endpoint ?? null,
    },
    backup: {
      etcd:
        etcdBackup === undefined || etcdBackup.enabled === false
          ? null
          : {
              schedule: etcdBackup.schedule ?? "",
              retain: etcdBackup.retain ?? BUILT_IN_DEFAULTS.backupRetain,
              beforeUpgrade: etcdBackup.beforeUpgrade ?? BUILT_IN_DEFAULTS.backupBeforeUpgrade,
              destination: { hostPath: etcdBackup.destination?.hostPath ?? BUILT_IN_DEFAULTS.backupHostPath },
            },
    },
    addons: dependencyOrder((spec.addons ?? []).filter((a) => a.enabled !== false).map((a) => normalizeAddon(a, charts))),
  };
}

function normalizeConnection(connection: WrittenConnection | undefined): Connection {
  const kubeconfig = connection?.kubeconfig;
  if (kubeconfig?.path !== undefined) return { kind: "kubeconfig-file", path: kubeconfig.path, context: kubeconfig.context ?? null };
  if (kubeconfig?.env !== undefined) return { kind: "kubeconfig-env", env: kubeconfig.env, context: kubeconfig.context ?? null };
  return { kind: "context", context: connection?.context ?? "" };
}

function normalizeProvider(provider: WrittenProvider | undefined): Provider {
  const capi = provider?.clusterAPI;
  if (capi) return { kind: "clusterAPI", context: capi.context, namespace: capi.namespace, name: capi.name };
  const script = provider?.kubeadm?.upgradeScript;
  return {
    kind: "kubeadm",
    packageManager: provider?.kubeadm?.packageManager ?? BUILT_IN_DEFAULTS.packageManager,
    upgradeScript: script === undefined ? null : normalizeRepoPath(script),
  };
}

function normalizeUpgrade(spec: ClusterSpec): UpgradePolicy {
  const written = spec.upgrade?.workers?.maxUnavailable ?? BUILT_IN_DEFAULTS.maxUnavailable;
  return {
    skewPolicy: spec.upgrade?.skewPolicy ?? BUILT_IN_DEFAULTS.skewPolicy,
    intermediateVersions: intermediateVersionsByMinor(spec.upgrade?.intermediateVersions ?? []),
    drainTimeoutSeconds: durationSeconds(spec.upgrade?.drain?.timeout ?? BUILT_IN_DEFAULTS.drainTimeout),
    maxUnavailable: typeof written === "number" ? { kind: "count", count: written } : { kind: "percent", percent: Number(written.slice(0, -1)) },
  };
}

/** The written intermediate versions keyed by `MAJOR.MINOR`, sorted (the rules refuse two of one minor). */
function intermediateVersionsByMinor(written: readonly string[]): Record<string, string> {
  const byMinor = new Map<string, string>();
  for (const version of written) {
    const minor = version.split(".").slice(0, 2).join(".");
    if (!byMinor.has(minor)) byMinor.set(minor, version);
  }
  return Object.fromEntries([...byMinor].sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true })));
}

/** A repository path in the one spelling bosun uses everywhere: relative, `/`-separated, normalized. */
export function normalizeRepoPath(written: string): string {
  return path.posix.normalize(written.replaceAll("\\", "/")).replace(/\/$/, "");
}

function normalizeAddon(addon: Addon, charts: ChartMetaByPath): DesiredAddon {
  const base = {
    name: addon.name,
    dependsOn: addon.dependsOn ?? [],
    timeoutSeconds: durationSeconds(addon.timeout ?? BUILT_IN_DEFAULTS.addonTimeout),
  };
  const helm = addon.helm;
  if (helm) {
    const local = helm.repo === undefined ? normalizeRepoPath(helm.chart) : undefined;
    const meta = local === undefined ? undefined : charts.get(local);
    return {
      ...base,
      namespace: addon.namespace ?? addon.name,
      source: {
        kind: "helm",
        chart:
          local === undefined
            ? { kind: "repo", repo: helm.repo ?? "", name: helm.chart, version: helm.version ?? "" }
            : { kind: "local", path: local, name: meta?.name ?? null, version: meta?.version ?? null },
        values: helm.values ?? {},
        valuesFiles: (helm.valuesFiles ?? []).map(normalizeRepoPath),
        secretValues: (helm.secretValues ?? []).map((secret) => ({ path: secret.path.split("."), env: secret.env })),
      },
    };
  }
  return { ...base, namespace: addon.namespace ?? null, source: { kind: "kustomize", path: normalizeRepoPath(addon.kustomize?.path ?? "") } };
}

/** Orders add-ons so each comes after its dependencies; otherwise keeps written order. Dependencies are acyclic here. */
function dependencyOrder(addons: DesiredAddon[]): DesiredAddon[] {
  const byName = new Map(addons.map((a) => [a.name, a]));
  const placed = new Set<string>();
  const out: DesiredAddon[] = [];
  const place = (addon: DesiredAddon): void => {
    if (placed.has(addon.name)) return;
    placed.add(addon.name);
    for (const dependency of addon.dependsOn) {
      const target = byName.get(dependency);
      if (target) place(target);
    }
    out.push(addon);
  };
  addons.forEach(place);
  return out;
}
