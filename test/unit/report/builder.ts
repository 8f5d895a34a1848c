/**
 * `planBuilder()`: realistic plans for the renderer and schema tests, built as data rather than copied
 * JSON. The default is a four-cluster fleet — canary in sync; staging with a two-rung upgrade ladder, a
 * snapshot, a Helm upgrade with values and object diffs and a Kustomize prune; production blocked with a
 * manual HA scale-up and a blocked add-on install; one unreachable cluster. `build()` derives `waves` and
 * `summary` from the clusters, so a test that changes clusters still gets a consistent plan.
 */
import { summarize } from "../../../src/plan/plan.js";
import {
  PLAN_API_VERSION,
  type AddonApplyStep,
  type AddonInstallStep,
  type AddonPruneStep,
  type AddonUninstallStep,
  type AddonUpgradeStep,
  type BackupScheduleStep,
  type BackupSnapshotStep,
  type ClusterPlan,
  type ControlPlaneUpgradeStep,
  type Plan,
  type PlanSource,
  type Step,
  type TopologyScaleStep,
  type WorkersUpgradeStep,
} from "../../../src/plan/types.js";

export const COMMIT = "3f2a9c1e5b7d4f60a8c2e1b3d5f7a9c0e2b4d6f8";
export const GENERATED_AT = "2026-11-23T12:00:00.000Z";

/** A cluster plan with sensible defaults: in sync at 1.35.4, kubeadm, no steps. */
export function clusterPlan(fields: Partial<ClusterPlan> & Pick<ClusterPlan, "name">): ClusterPlan {
  return {
    wave: "default",
    status: "in-sync",
    driver: "kubeadm",
    versions: { desired: "1.35.4", controlPlane: { oldest: "1.35.4", newest: "1.35.4" }, workers: { oldest: "1.35.4", newest: "1.35.4" } },
    steps: [],
    findings: [],
    ...fields,
  };
}

type Extra<S extends Step> = Partial<Omit<S, "kind">>;

/** One constructor per step kind; `cluster` and the subject make the stable id. */
export const step = {
  snapshot(cluster: string, to: string, extra: Extra<BackupSnapshotStep> = {}): BackupSnapshotStep {
    return {
      id: `${cluster}/backup.snapshot/${to}`,
      kind: "backup.snapshot",
      state: "pending",
      summary: `take and verify an etcd snapshot to /var/backups/etcd before the control plane moves to ${to}`,
      ...extra,
    };
  },
  controlPlane(cluster: string, from: string, to: string, targets: string[], extra: Extra<ControlPlaneUpgradeStep> = {}): ControlPlaneUpgradeStep {
    return {
      id: `${cluster}/controlPlane.upgrade/${to}`,
      kind: "controlPlane.upgrade",
      state: "pending",
      from,
      to,
      targets,
      summary: `upgrade the control plane ${from} → ${to}, one node at a time: ${targets.join(", ")}`,
      ...extra,
    };
  },
  workers(cluster: string, from: string, to: string, targets: string[], extra: Extra<WorkersUpgradeStep> = {}): WorkersUpgradeStep {
    return {
      id: `${cluster}/workers.upgrade/${to}`,
      kind: "workers.upgrade",
      state: "pending",
      from,
      to,
      targets,
      batchSize: 1,
      summary: `upgrade ${targets.length} worker${targets.length === 1 ? "" : "s"} ${from} → ${to}, 1 at a time (drain, upgrade, uncordon)`,
      ...extra,
    };
  },
  scale(cluster: string, from: number, to: number, extra: Extra<TopologyScaleStep> = {}): TopologyScaleStep {
    return {
      id: `${cluster}/topology.scale/${to}`,
      kind: "topology.scale",
      state: "pending",
      from,
      to,
      summary: `scale the control plane from ${from} to ${to} nodes`,
      ...extra,
    };
  },
  install(cluster: string, addon: string, extra: Extra<AddonInstallStep> = {}): AddonInstallStep {
    return {
      id: `${cluster}/addon.install/${addon}`,
      kind: "addon.install",
      state: "pending",
      addon,
      addonKind: "helm",
      chart: addon,
      chartVersion: "1.0.0",
      objects: [{ id: `Deployment/${addon}/${addon}`, action: "create" }],
      diff: objectDiff(`Deployment/${addon}/${addon}`, "create"),
      summary: `install Helm chart ${addon} 1.0.0 as ${addon} in ${addon} (1 objects)`,
      ...extra,
    };
  },
  upgrade(cluster: string, addon: string, extra: Extra<AddonUpgradeStep> = {}): AddonUpgradeStep {
    return {
      id: `${cluster}/addon.upgrade/${addon}`,
      kind: "addon.upgrade",
      state: "pending",
      addon,
      chart: addon,
      chartVersion: { from: "1.0.0", to: "1.1.0" },
      valuesDiff: "",
      objects: [],
      diff: "",
      summary: `upgrade ${addon} (revision 1): chart ${addon} 1.0.0 → ${addon} 1.1.0`,
      ...extra,
    };
  },
  apply(cluster: string, addon: string, extra: Extra<AddonApplyStep> = {}): AddonApplyStep {
    return {
      id: `${cluster}/addon.apply/${addon}`,
      kind: "addon.apply",
      state: "pending",
      addon,
      objects: [{ id: `ConfigMap/${addon}/settings`, action: "update" }],
      diff: objectDiff(`ConfigMap/${addon}/settings`, "update"),
      summary: `apply ${addon}: 1 to update`,
      ...extra,
    };
  },
  prune(cluster: string, addon: string, objects: string[], extra: Extra<AddonPruneStep> = {}): AddonPruneStep {
    return {
      id: `${cluster}/addon.prune/${addon}`,
      kind: "addon.prune",
      state: "pending",
      addon,
      objects,
      summary: `delete ${objects.length} object${objects.length === 1 ? "" : "s"} that left ${addon}: ${objects.join(", ")}`,
      ...extra,
    };
  },
  uninstall(cluster: string, addon: string, extra: Extra<AddonUninstallStep> = {}): AddonUninstallStep {
    return {
      id: `${cluster}/addon.uninstall/${addon}`,
      kind: "addon.uninstall",
      state: "pending",
      addon,
      addonKind: "helm",
      namespace: addon,
      summary: `uninstall Helm release ${addon} from ${addon} (removed from the spec)`,
      ...extra,
    };
  },
  schedule(cluster: string, extra: Extra<BackupScheduleStep> = {}): BackupScheduleStep {
    return {
      id: `${cluster}/backup.schedule/etcd`,
      kind: "backup.schedule",
      state: "pending",
      action: "create",
      schedule: "0 */6 * * *",
      diff: objectDiff("CronJob/kube-system/bosun-etcd-backup", "create"),
      summary: 'create the etcd backup CronJob: "0 */6 * * *", keep 28',
      ...extra,
    };
  },
};

/** A small unified diff of one object, as src/addons/compare.ts writes them. */
export function objectDiff(id: string, action: "create" | "update"): string {
  if (action === "create") {
    return [`--- /dev/null`, `+++ desired/${id}`, "@@ -0,0 +1,4 @@", `+kind: ${id.split("/")[0] ?? "Object"}`, "+metadata:", `+  name: ${id.split("/").at(-1) ?? ""}`, "+spec: {}", ""].join("\n");
  }
  return [`--- live/${id}`, `+++ desired/${id}`, "@@ -1,3 +1,3 @@", " data:", "-  level: info", "+  level: debug", " kind: ConfigMap", ""].join("\n");
}

const INGRESS_VALUES_DIFF = [
  "--- deployed/ingress-nginx/values.yaml",
  "+++ desired/ingress-nginx/values.yaml",
  "@@ -1,6 +1,6 @@",
  " controller:",
  "-  replicaCount: 2",
  "+  replicaCount: 3",
  "   service:",
  "     annotations:",
  "-      service.beta.kubernetes.io/aws-load-balancer-type: nlb",
  "+      service.beta.kubernetes.io/aws-load-balancer-type: external",
  "",
].join("\n");

const INGRESS_OBJECT_DIFF = [
  "--- live/Deployment/ingress-nginx/ingress-nginx-controller",
  "+++ desired/Deployment/ingress-nginx/ingress-nginx-controller",
  "@@ -8,11 +8,11 @@",
  "   labels:",
  "     app.kubernetes.io/name: ingress-nginx",
  "-    helm.sh/chart: ingress-nginx-4.11.3",
  "+    helm.sh/chart: ingress-nginx-4.12.1",
  "   name: ingress-nginx-controller",
  "   namespace: ingress-nginx",
  " spec:",
  "-  replicas: 2",
  "+  replicas: 3",
  "   template:",
  "     spec:",
  "       containers:",
  "-        - image: registry.k8s.io/ingress-nginx/controller:v1.11.3",
  "+        - image: registry.k8s.io/ingress-nginx/controller:v1.12.1",
  "",
].join("\n");

const CERT_MANAGER_ERROR = [
  "cert-manager: helm exited with code 1:",
  'Error: failed to fetch https://charts.jetstack.io/charts/cert-manager-v1.16.2.tgz : 404 Not Found',
].join("\n");

const SCALE_UP_RUNBOOK = [
  "On an existing control-plane node: `kubeadm init phase upload-certs --upload-certs` and note the certificate key.",
  "On the same node: `kubeadm token create --print-join-command`.",
  "Prepare 2 new nodes with kubeadm, kubelet and kubectl at v1.35.4, in zones eu-1b, eu-1c.",
  "On each new node: run the join command with `--control-plane --certificate-key <key>` (it joins through api.prod-eu-1.example.com:6443).",
  "Add one node at a time and wait for `kubectl get nodes` to show it Ready and for its etcd member to be healthy (`etcdctl endpoint health --cluster`) before the next, so etcd never loses quorum.",
  "Run `bosun plan` again: the topology step disappears when 3 control-plane nodes are observed.",
];

/** The four clusters of the default plan, in rollout order. */
export function defaultClusters(): ClusterPlan[] {
  const staging = "staging-eu-1";
  const prod = "prod-eu-1";
  return [
    clusterPlan({ name: "canary-1", wave: "canary" }),
    clusterPlan({
      name: staging,
      wave: "staging",
      status: "changes",
      versions: { desired: "1.35.4", controlPlane: { oldest: "1.33.13", newest: "1.33.13" }, workers: { oldest: "1.33.13", newest: "1.34.4" } },
      steps: [
        step.snapshot(staging, "1.34.0"),
        step.controlPlane(staging, "1.33.13", "1.34.0", ["staging-eu-1-cp-1"]),
        step.workers(staging, "1.33.13", "1.34.0", ["staging-eu-1-worker-1"]),
        step.controlPlane(staging, "1.34.0", "1.35.4", ["staging-eu-1-cp-1"]),
        step.workers(staging, "1.34.0", "1.35.4", ["staging-eu-1-worker-1", "staging-eu-1-worker-2"]),
        step.upgrade(staging, "ingress-nginx", {
          chart: "ingress-nginx",
          chartVersion: { from: "4.11.3", to: "4.12.1" },
          valuesDiff: INGRESS_VALUES_DIFF,
          objects: [{ id: "Deployment/ingress-nginx/ingress-nginx-controller", action: "update" }],
          diff: INGRESS_OBJECT_DIFF,
          summary: "upgrade ingress-nginx (revision 7): chart ingress-nginx 4.11.3 → ingress-nginx 4.12.1; values changed; objects drifted: 1 to update",
        }),
        step.prune(staging, "monitoring", ["ConfigMap/monitoring/legacy-dashboards", "Service/monitoring/pushgateway"]),
      ],
    }),
    clusterPlan({
      name: prod,
      wave: "production",
      status: "blocked",
      reason: CERT_MANAGER_ERROR,
      findings: [
        { kind: "backup.stale", message: 'the last successful etcd backup (2026-11-22T06:00:00Z) is older than two runs of "0 */6 * * *"' },
        {
          kind: "topology.zone-spread",
          message: "control-plane nodes prod-eu-1-cp-1, prod-eu-1-cp-2 are all in zone eu-1a: losing that zone loses 2 of 3 etcd members, and with them quorum; the spec names 3 zones for 3 nodes",
          runbook: ["Join a new control-plane node in zone eu-1b.", "Remove one of prod-eu-1-cp-1, prod-eu-1-cp-2: `kubectl drain <node> --ignore-daemonsets`."],
        },
      ],
      steps: [
        step.scale(prod, 1, 3, {
          state: "manual",
          summary: "scale the control plane from 1 to 3 nodes (kubeadm: by hand, with the runbook)",
          runbook: SCALE_UP_RUNBOOK,
        }),
        step.install(prod, "cert-manager", {
          state: "blocked",
          reason: CERT_MANAGER_ERROR,
          chart: undefined,
          chartVersion: undefined,
          objects: [],
          diff: "",
          summary: "install cert-manager (cannot render it)",
        }),
      ],
    }),
    clusterPlan({
      name: "prod-us-1",
      wave: "production",
      status: "unreachable",
      reason: "cluster prod-us-1: GET https://10.20.0.10:6443/api/v1/nodes: connect ECONNREFUSED 10.20.0.10:6443",
      driver: "clusterAPI",
      versions: { desired: "1.35.4" },
    }),
  ];
}

/** Removes keys whose value is undefined, as JSON would: builders spread `undefined` to drop a default. */
function dropUndefined<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Builds a plan; see the module comment. */
export function planBuilder(): PlanBuilder {
  return new PlanBuilder();
}

export class PlanBuilder {
  private fleetName = "acme";
  private planSource: PlanSource = { kind: "git", url: "https://github.com/acme/fleet.git", ref: "main", commit: COMMIT };
  private planRevision: string | null = COMMIT;
  private at = GENERATED_AT;
  private list: ClusterPlan[] = defaultClusters();

  fleet(name: string): this {
    this.fleetName = name;
    return this;
  }

  /** A local directory, not a Git checkout: revision null. */
  local(path = "fleet-example"): this {
    this.planSource = { kind: "local", path };
    this.planRevision = null;
    return this;
  }

  generatedAt(iso: string): this {
    this.at = iso;
    return this;
  }

  /** Replaces every cluster. */
  clusters(...clusters: ClusterPlan[]): this {
    this.list = clusters;
    return this;
  }

  /** Adds a cluster at the end (its wave after the others unless it shares one). */
  cluster(cluster: ClusterPlan): this {
    this.list.push(cluster);
    return this;
  }

  /** Changes one cluster of the plan. */
  mapCluster(name: string, change: (cluster: ClusterPlan) => ClusterPlan): this {
    this.list = this.list.map((c) => (c.name === name ? change(c) : c));
    return this;
  }

  build(): Plan {
    const clusters = dropUndefined(this.list);
    const waves: Plan["waves"] = [];
    for (const cluster of clusters) {
      const wave = waves.find((w) => w.name === cluster.wave);
      if (wave) wave.clusters.push(cluster.name);
      else waves.push({ name: cluster.wave, clusters: [cluster.name] });
    }
    return {
      apiVersion: PLAN_API_VERSION,
      fleet: this.fleetName,
      source: this.planSource,
      revision: this.planRevision,
      generatedAt: this.at,
      waves,
      clusters,
      summary: summarize(clusters),
    };
  }
}

/** The summary the planner computes: clusters per status, steps per state. */
export { summarize };

/** A cluster with one step of every kind (and both add-on kinds), for schema and renderer coverage. */
export function everyKindCluster(name = "kitchen-sink"): ClusterPlan {
  return clusterPlan({
    name,
    status: "changes",
    driver: "clusterAPI",
    findings: [
      { kind: "backup.never-succeeded", message: "the etcd backup CronJob has no successful run yet" },
      { kind: "node.not-ready", message: `node ${name}-worker-1 (worker) is not Ready` },
      { kind: "node.cordoned", message: `node ${name}-worker-2 is cordoned` },
      { kind: "release.unknown", message: "release monitoring has no readable record" },
      { kind: "topology.zone-unknown", message: `control-plane node ${name}-cp-1 (zone eu-9z) is not in a zone the spec names (eu-1a)`, runbook: ["Check the node's label."] },
      { kind: "topology.etcd-mode", message: "the spec says etcd is stacked, but kubeadm-config says external (https://etcd-1:2379)", runbook: ["Change the spec."] },
      { kind: "topology.etcd-endpoints", message: "the spec's external etcd endpoints (https://e1:2379) differ from kubeadm-config's (https://e2:2379)" },
      { kind: "topology.endpoint", message: "the spec's endpoint a:6443 differs from kubeadm's controlPlaneEndpoint b:6443" },
    ],
    steps: [
      step.schedule(name),
      step.snapshot(name, "1.35.4"),
      step.controlPlane(name, "1.34.4", "1.35.4", [`fleet/${name}-control-plane`]),
      step.workers(name, "1.34.4", "1.35.4", [`fleet/${name}-md-0`], { batchSize: 2 }),
      step.scale(name, 1, 3),
      step.install(name, "metrics-server"),
      step.install(name, "echo", {
        addonKind: "kustomize",
        chart: undefined,
        chartVersion: undefined,
        summary: "apply Kustomize overlay addons/echo/overlays/prod as echo (1 objects)",
      }),
      step.upgrade(name, "ingress-nginx"),
      step.apply(name, "monitoring"),
      step.prune(name, "monitoring", ["ConfigMap/monitoring/old"]),
      step.uninstall(name, "legacy"),
      step.uninstall(name, "legacy-overlay", { addonKind: "kustomize", namespace: null }),
      step.schedule(name, { id: `${name}/backup.schedule/etcd-delete`, action: "delete", schedule: null, diff: "", summary: "remove the etcd backup CronJob" }),
    ],
  });
}
