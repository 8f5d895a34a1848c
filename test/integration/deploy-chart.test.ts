/**
 * The chart that runs `bosun run` in a cluster (deploy/helm/bosun): `helm lint --strict`, renders with the
 * default values and with every option on, the security settings read from the rendered objects, and a
 * server-side dry-run apply of every object into a sandbox cluster (alpha) — with the pod itself dry-run
 * in a namespace that enforces the `restricted` Pod Security Standard, so the API server judges the pod's
 * security settings, not this test.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { V1Container, V1Deployment, V1PodDisruptionBudget, V1PodSpec, V1Role, V1RoleBinding, V1Service, V1ServiceAccount } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { ProcessError } from "../../src/errors.js";
import { KubeApiError, type KubeObject } from "../../src/kube/rest.js";
import { helmTemplate, resolveTool } from "../../src/tools/helm.js";
import { runProcess } from "../../src/tools/process.js";
import { deleteNamespaces, sandboxCluster, sandboxRest, sharedSandbox } from "../support/sandbox.js";

const CHART = path.resolve(import.meta.dirname, "../../deploy/helm/bosun");
const CLUSTER = "alpha";
const NAMESPACE = `bosun-chart-${randomBytes(3).toString("hex")}`;
const RELEASE = "fleet";
const REPO = "https://git.example.com/platform/fleet.git";

/** Every option on: secrets, ServiceMonitor, extra arguments and environment, three replicas. */
const ALL_OPTIONS = {
  replicaCount: 3,
  image: { repository: "registry.example.com/bosun", digest: `sha256:${"a".repeat(64)}` },
  repo: { url: REPO, ref: "release", fleet: "fleets/prod" },
  interval: "30s",
  driftInterval: "10m",
  shutdownTimeoutSeconds: 90,
  logFormat: "text",
  targets: { kubeconfigSecret: "bosun-targets" },
  git: { tokenSecret: "bosun-git" },
  chartCredentials: { secret: "bosun-charts" },
  api: { tokenSecret: "bosun-api", tokenKey: "api-token" },
  webhook: { secret: "bosun-webhook" },
  extraArgs: ["--api-tokens-file", "/tmp/tokens"],
  extraEnv: [{ name: "BOSUN_EXTRA", value: "1" }],
  serviceMonitor: { enabled: true, labels: { release: "prometheus" } },
  podAnnotations: { "example.com/team": "platform" },
};

let helm: string;
let work: string;

async function valuesFile(values: unknown): Promise<string> {
  const file = path.join(work, `values-${randomBytes(4).toString("hex")}.json`);
  await fs.writeFile(file, JSON.stringify(values));
  return file;
}

async function render(values: unknown): Promise<KubeObject[]> {
  const out = await helmTemplate(CHART, { release: RELEASE, namespace: NAMESPACE, valuesFile: await valuesFile(values) }, { helm });
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

/** The ServiceMonitor's fields the chart sets. */
interface ServiceMonitor {
  apiVersion: string;
  metadata: { labels?: Record<string, string> };
  spec: { selector: { matchLabels: Record<string, string> }; namespaceSelector: unknown; endpoints: unknown[] };
}

interface Kinds {
  Deployment: V1Deployment;
  Role: V1Role;
  RoleBinding: V1RoleBinding;
  ServiceAccount: V1ServiceAccount;
  Service: V1Service;
  PodDisruptionBudget: V1PodDisruptionBudget;
  ServiceMonitor: ServiceMonitor;
}

/** The one object of `kind` (failing when there is not exactly one), typed as the API defines it. */
function only<K extends keyof Kinds>(objects: KubeObject[], kind: K): Kinds[K] {
  const found = objects.filter((o) => o.kind === kind);
  expect(found.map((o) => o.kind)).toEqual([kind]);
  return found[0] as unknown as Kinds[K];
}

function podSpec(objects: KubeObject[]): V1PodSpec {
  const spec = only(objects, "Deployment").spec?.template.spec;
  if (!spec) throw new Error("the Deployment has no pod spec");
  return spec;
}

function container(objects: KubeObject[]): V1Container {
  const first = podSpec(objects).containers[0];
  if (!first) throw new Error("the Deployment has no container");
  return first;
}

function envOf(objects: KubeObject[]): Record<string, unknown> {
  return Object.fromEntries((container(objects).env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
}

beforeAll(async () => {
  helm = sharedSandbox().binaries.helm ?? (await resolveTool("helm"));
  work = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-chart-"));
});

afterAll(async () => {
  await deleteNamespaces(sandboxCluster(CLUSTER).core, [NAMESPACE]);
  await fs.rm(work, { recursive: true, force: true });
});

describe("helm lint", () => {
  it.each([
    ["the default values", { repo: { url: REPO } }],
    ["every option on", ALL_OPTIONS],
  ])("passes --strict with %s", async (_name, values) => {
    const result = await runProcess({ tool: "helm", file: helm, args: ["lint", "--strict", "--values", await valuesFile(values), "--", CHART], timeoutMs: 60_000, notFoundHint: "build it with `bosun sandbox binaries`" });
    expect(result.stdout).toContain("0 chart(s) failed");
  });

  it.each([
    ["a replica count that is not a number", { replicaCount: "two" }, /replicaCount/],
    ["an unknown value (a typo)", { replicas: 3 }, /replicas/],
    ["an unknown log format", { logFormat: "xml" }, /logFormat/],
    ["a duration without a unit", { interval: "60" }, /interval/],
  ])("refuses %s through the values schema", async (_name, values, message) => {
    const error = await render({ repo: { url: REPO }, ...values }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessError);
    expect((error as ProcessError).message + (error as ProcessError).stderr).toMatch(message);
  });

  it("refuses to render without the repository URL", async () => {
    const error = await render({}).then(() => undefined, (e: unknown) => e);
    expect((error as ProcessError).stderr).toContain("repo.url is required");
  });
});

describe("rendered with the default values", () => {
  let objects: KubeObject[];
  beforeAll(async () => {
    objects = await render({ repo: { url: REPO } });
  });

  it("is a namespaced set of objects with least-privilege RBAC and nothing cluster-wide", () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(["Deployment", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"]);
    for (const object of objects) expect(object.metadata.namespace, object.kind).toBe(NAMESPACE);
    const role = only(objects, "Role");
    expect(role.rules).toEqual([
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
      { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update", "patch"] },
      { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
    ]);
    const binding = only(objects, "RoleBinding");
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata?.name });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: only(objects, "ServiceAccount").metadata?.name, namespace: NAMESPACE }]);
  });

  it("runs `bosun run` against the repository, with its state in the release namespace", () => {
    expect(only(objects, "Deployment").spec?.replicas).toBe(2);
    expect(container(objects).args).toEqual([
      "run", "--repo", REPO, "--ref", "main", "--listen", "0.0.0.0:8080", "--state", "kubernetes", "--state-namespace", NAMESPACE,
      "--interval", "1m", "--drift-interval", "5m", "--shutdown-timeout", "60s", "--log-format", "json",
    ]);
    expect(envOf(objects)).toEqual({ BOSUN_REPLICA_ID: { fieldRef: { fieldPath: "metadata.name" } }, BOSUN_CACHE_DIR: "/var/cache/bosun", HOME: "/tmp" });
    // The kubelet must not kill bosun before its own shutdown timeout has run out.
    expect(podSpec(objects).terminationGracePeriodSeconds).toBeGreaterThan(60);
  });

  it("runs as the image's non-root user, read-only, without capabilities, under RuntimeDefault seccomp", () => {
    const pod = podSpec(objects);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } });
    expect(container(objects).securityContext).toEqual({
      runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false, privileged: false,
      readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" },
    });
    // It needs its token: the in-cluster config reaches the state.
    expect(pod.automountServiceAccountToken).toBe(true);
    // The only writable places are the emptyDirs.
    expect(container(objects).volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }, { name: "cache", mountPath: "/var/cache/bosun" }]);
    expect((pod.volumes ?? []).map((v) => [v.name, v.emptyDir !== undefined])).toEqual([["tmp", true], ["cache", true]]);
  });

  it("probes /healthz and /readyz, has resources, spreads over nodes and allows one disruption", () => {
    const pod = podSpec(objects);
    const c = container(objects);
    expect(c.livenessProbe?.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.readinessProbe?.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(c.ports).toEqual([{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    expect(Object.keys(c.resources ?? {}).sort()).toEqual(["limits", "requests"]);
    expect(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
    expect(only(objects, "PodDisruptionBudget").spec?.maxUnavailable).toBe(1);
    expect(only(objects, "Service").spec?.ports).toEqual([{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
  });
});

describe("rendered with every option on", () => {
  let objects: KubeObject[];
  beforeAll(async () => {
    objects = await render(ALL_OPTIONS);
  });

  it("passes the secrets by reference, mounts the kubeconfig read-only and appends the extra arguments", () => {
    const env = envOf(objects);
    expect(env).toMatchObject({
      KUBECONFIG: "/etc/bosun/targets/kubeconfig",
      BOSUN_GIT_TOKEN: { secretKeyRef: { name: "bosun-git", key: "token" } },
      BOSUN_API_TOKEN: { secretKeyRef: { name: "bosun-api", key: "api-token" } },
      BOSUN_WEBHOOK_SECRET: { secretKeyRef: { name: "bosun-webhook", key: "secret" } },
      BOSUN_EXTRA: "1",
    });
    const c = container(objects);
    expect(c.volumeMounts).toContainEqual({ name: "targets", mountPath: "/etc/bosun/targets", readOnly: true });
    expect(podSpec(objects).volumes).toContainEqual({ name: "targets", secret: { secretName: "bosun-targets", defaultMode: 0o440, items: [{ key: "kubeconfig", path: "kubeconfig" }] } });
    expect(c.image).toBe(`registry.example.com/bosun@sha256:${"a".repeat(64)}`);
    expect(c.args).toEqual(expect.arrayContaining(["--fleet", "fleets/prod", "--ref", "release", "--shutdown-timeout", "90s", "--log-format", "text"]));
    expect(c.args?.slice(-2)).toEqual(["--api-tokens-file", "/tmp/tokens"]);
    expect(only(objects, "Deployment").spec?.replicas).toBe(3);
    expect(podSpec(objects).terminationGracePeriodSeconds).toBeGreaterThan(90);
    expect(objects.some((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")).toBe(false);
  });

  it("mounts the chart credentials Secret read-only and points BOSUN_CHART_CREDENTIALS_FILE at its list", () => {
    expect(envOf(objects)).toMatchObject({ BOSUN_CHART_CREDENTIALS_FILE: "/etc/bosun/charts/credentials.yaml" });
    expect(container(objects).volumeMounts).toContainEqual({ name: "chart-credentials", mountPath: "/etc/bosun/charts", readOnly: true });
    // Every key of the Secret: the list and the password, CA and certificate files it names.
    expect(podSpec(objects).volumes).toContainEqual({ name: "chart-credentials", secret: { secretName: "bosun-charts", defaultMode: 0o440 } });
  });

  it("renders a ServiceMonitor scraping /metrics on the Service's http port", () => {
    const monitor = only(objects, "ServiceMonitor");
    expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(monitor.metadata.labels).toMatchObject({ release: "prometheus" });
    expect(monitor.spec.selector.matchLabels).toEqual(only(objects, "Service").spec?.selector);
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [NAMESPACE] });
    expect(monitor.spec.endpoints).toEqual([{ port: "http", path: "/metrics", interval: "30s", scrapeTimeout: "10s" }]);
  });
});

describe("server-side dry-run into a sandbox cluster", () => {
  const rest = sandboxRest(CLUSTER);
  beforeAll(async () => {
    // The namespace is real (a dry-run into a missing one fails) and enforces the restricted Pod Security
    // Standard, which the API server applies to the dry-run pods below.
    await rest.create("/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: NAMESPACE, labels: { "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest" } },
    });
  });
  afterAll(() => {
    rest.close();
  });

  it.each([
    ["the default values", { repo: { url: REPO } }],
    ["every option on", ALL_OPTIONS],
  ])("accepts every object rendered with %s", async (_name, values) => {
    const objects = await render(values);
    for (const object of objects) {
      if (object.kind === "ServiceMonitor") {
        // The Prometheus Operator's CRD is not installed in the sandbox, so the API server has nothing to
        // validate it against; its shape is checked above instead.
        expect(await rest.resource("monitoring.coreos.com/v1", "ServiceMonitor")).toBeUndefined();
        continue;
      }
      const stored = await rest.applyDryRun(object, "bosun-chart-test");
      expect(stored, `${object.kind}/${object.metadata.name}`).not.toBeNull();
      expect(stored?.metadata.namespace).toBe(NAMESPACE);
    }
  });

  it("the pod passes the restricted Pod Security Standard (and one without its settings does not)", async () => {
    const objects = await render(ALL_OPTIONS);
    // The ServiceAccount admission refuses a pod whose service account does not exist: create it for real.
    const account = only(objects, "ServiceAccount");
    await rest.create(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, account).catch((error: unknown) => {
      if (!(error instanceof KubeApiError && error.status === 409)) throw error;
    });
    const spec = podSpec(objects);
    const labels = only(objects, "Deployment").spec?.template.metadata?.labels ?? {};
    const pod = (name: string, podSpecOf: V1PodSpec): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NAMESPACE, labels }, spec: podSpecOf });
    expect(await rest.applyDryRun(pod("bosun-pss", spec), "bosun-chart-test")).not.toBeNull();

    // The control: the same pod keeping its capabilities is refused, so the check above can fail.
    const loose = structuredClone(spec);
    const looseContainer = loose.containers[0];
    if (looseContainer?.securityContext) delete looseContainer.securityContext.capabilities;
    const refused = await rest.applyDryRun(pod("bosun-pss-loose", loose), "bosun-chart-test").then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(KubeApiError);
    expect((refused as KubeApiError).message).toMatch(/PodSecurity "restricted/);
  });
});
