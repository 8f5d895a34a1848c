/**
 * The normalized fleet: what the rest of bosun plans and applies against. Defaults are merged, built-in
 * defaults filled in, durations in seconds, alternatives ("exactly one of") turned into discriminated unions
 * and every cluster's rollout wave and maintenance windows resolved. The spec as written in YAML has its own
 * types, generated from the schemas, in `./generated.ts`; nothing outside `src/spec/` needs them.
 */

/** The spec format this loader reads. */
export const SPEC_API_VERSION = "bosun.dev/v1alpha1";

/** A fleet after loading: valid, merged and resolved. */
export interface DesiredFleet {
  apiVersion: typeof SPEC_API_VERSION;
  name: string;
  /** Waves in rollout order, each with the names of its clusters (sorted). */
  waves: DesiredWave[];
  /** `rollout.paused`: the daemon starts no new step anywhere while true. */
  paused: boolean;
  windows: DesiredWindow[];
  alerting: DesiredAlerting;
  /** Clusters sorted by name. */
  clusters: DesiredCluster[];
}

/** One rollout wave. */
export interface DesiredWave {
  name: string;
  /** Clusters of this wave changed at the same time. */
  maxConcurrent: number;
  /** How long the wave must stay healthy before the next one starts. */
  soakSeconds: number;
  /** Whether a skipped cluster (unreachable, deferred, blocked) lets the next wave start anyway. */
  continueOnSkip: boolean;
  /** How the daemon applies a new revision to the wave: at once, or after `bosun approve`. */
  apply: "auto" | "manual";
  clusters: string[];
}

/** One maintenance window. */
export interface DesiredWindow {
  name: string;
  kind: "allow" | "deny";
  /** Cron expression as written (a macro such as @daily is kept as it is). */
  schedule: string;
  durationSeconds: number;
  /** Canonical IANA name, as `Intl` spells it. */
  timeZone: string;
  operations: WindowOperation[];
  /** Names of the clusters the window applies to (sorted). */
  clusters: string[];
}

/** What a maintenance window governs. */
export type WindowOperation = "upgrade" | "addons" | "backup";

/** Where alerts go and how often (`spec.alerting`), durations in seconds. */
export interface DesiredAlerting {
  /** Receivers in spec order: the first form's `webhooks` first (as generic webhooks), then `receivers`. */
  receivers: DesiredReceiver[];
  /** A still-firing alert is sent again this long after it was last sent (default 4h). */
  repeatIntervalSeconds: number;
  /** A cluster unreachable this long fires cluster-unreachable (default 10m). */
  unreachableAfterSeconds: number;
}

/** The kinds of alert receiver. */
export type ReceiverType = "webhook" | "alertmanager" | "slack";

/** An alert receiver. Its URL and signing key are read from the environment at send time. */
export interface DesiredReceiver {
  name: string;
  type: ReceiverType;
  urlFromEnv: string;
  /** The HMAC key's variable; webhook receivers only. */
  secretFromEnv?: string;
  /** The events it is sent, in {@link ALERT_KINDS} order. */
  events: AlertKind[];
}

/** Every alert event, in a fixed order (the events a receiver gets by default). */
export const ALERT_KINDS = ["drift", "drift-resolved", "apply-failed", "wave-halted", "backup-stale", "backup-failed", "invalid-spec", "cluster-unreachable"] as const;

/** Events alerts are sent for. */
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The event names of the first form, `alerting.webhooks[].events`. */
export type LegacyAlertEvent = "drift" | "failed" | "halted" | "blocked";

/**
 * What each event name of the first form means in today's vocabulary: a drift ends in drift-resolved; a
 * failure is an apply's or a backup's; a halted wave is wave-halted; a cluster whose plan is blocked is one
 * whose spec is invalid or that cannot be reached.
 */
export const LEGACY_ALERT_EVENTS: Readonly<Record<LegacyAlertEvent, readonly AlertKind[]>> = {
  drift: ["drift", "drift-resolved"],
  failed: ["apply-failed", "backup-failed"],
  halted: ["wave-halted"],
  blocked: ["invalid-spec", "cluster-unreachable"],
};

/** Where a cluster's spec was written, for messages that point back at it. */
export interface SpecOrigin {
  file: string;
  line: number;
}

/** One cluster after defaults are merged. */
export interface DesiredCluster {
  name: string;
  labels: Record<string, string>;
  origin: SpecOrigin;
  wave: string;
  /** Names of the maintenance windows that apply to this cluster, in fleet order. */
  windows: string[];
  connection: Connection;
  provider: Provider;
  kubernetes: { version: string };
  upgrade: UpgradePolicy;
  topology: Topology;
  backup: { etcd: EtcdBackup | null };
  /** What the daemon does about drift: always report it; revert it only when `correct` (cluster, else wave, else off). */
  drift: { correct: boolean };
  /** Enabled add-ons, in dependency order (an add-on after everything it depends on; ties in written order). */
  addons: DesiredAddon[];
}

/** How bosun reaches a cluster's API server. */
export type Connection =
  | { kind: "context"; context: string }
  | { kind: "kubeconfig-file"; path: string; context: string | null }
  | { kind: "kubeconfig-env"; env: string; context: string | null };

/** The driver that upgrades a cluster. */
export type Provider =
  /** `upgradeScript`: a fleet-relative path (`/` separators) replacing bosun's node upgrade script, or null. */
  | { kind: "kubeadm"; packageManager: "apt" | "dnf" | "yum"; upgradeScript: string | null }
  | { kind: "clusterAPI"; context: string; namespace: string; name: string };

/** How upgrades are carried out. */
export interface UpgradePolicy {
  skewPolicy: "strict" | "efficient";
  /**
   * `upgrade.intermediateVersions` by minor: `"1.34"` → `"1.34.10"` (the rules allow one per minor, each
   * below the desired minor). Minors not here go to the bundled release table's latest patch.
   */
  intermediateVersions: Record<string, string>;
  drainTimeoutSeconds: number;
  /** A node count, or a percentage of the workers. */
  maxUnavailable: { kind: "count"; count: number } | { kind: "percent"; percent: number };
}

/** Control-plane and etcd topology. */
export interface Topology {
  controlPlane: { replicas: number; zones: string[] };
  etcd: { mode: "stacked" } | { mode: "external"; endpoints: string[] };
  endpoint: string | null;
}

/** Periodic etcd snapshots. */
export interface EtcdBackup {
  schedule: string;
  retain: number;
  beforeUpgrade: boolean;
  destination: { hostPath: string };
}

/** One add-on of one cluster. */
export interface DesiredAddon {
  name: string;
  namespace: string | null;
  dependsOn: string[];
  timeoutSeconds: number;
  source: HelmChartSource | KustomizeSource;
}

/** A Helm chart add-on. Paths are relative to the fleet directory, with `/` separators. */
export interface HelmChartSource {
  kind: "helm";
  chart:
    | { kind: "local"; path: string; name: string | null; version: string | null }
    | { kind: "repo"; repo: string; name: string; version: string };
  /** Inline values (applied after the values files). */
  values: Record<string, unknown>;
  valuesFiles: string[];
  /** Secret values read from the environment at plan/apply time; masked in every output. */
  secretValues: SecretValue[];
}

/** A chart value taken from an environment variable and treated as a secret. */
export interface SecretValue {
  /** Path in the values tree, one key per element. */
  path: string[];
  /** The environment variable holding the value. */
  env: string;
}

/** A Kustomize overlay add-on. */
export interface KustomizeSource {
  kind: "kustomize";
  path: string;
}
