/**
 * docs/security.md's read-only credentials, proved against a real API server: the RBAC and the
 * ValidatingAdmissionPolicy are read from the document itself and applied to sandbox cluster gamma for a
 * test identity (the admin token impersonating it). With the read role alone the cluster is observed and
 * planned; with the dry-run role too the add-on's diff is complete; and every write the identity sends is
 * a dry-run — a real one is refused by the policy.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { parse, parseAllDocuments, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as k8s from "@kubernetes/client-node";
import { sandboxCluster, sharedSandbox } from "../support/sandbox.js";
import { clusterYaml, hostileRepo, makeCanaries, runHostile, type HostileRepo, type HostileResult } from "./support.js";

const canaries = makeCanaries();
const USER = `bosun-plan-test-${randomBytes(4).toString("hex")}`;
const NAMESPACE = `bosun-ro-${randomBytes(4).toString("hex")}`;
const DOC_IDENTITY = "system:serviceaccount:ci:bosun-plan";

/** The RBAC and admission YAML of docs/security.md, for USER instead of the documented identity. */
async function documentedObjects(): Promise<k8s.KubernetesObject[]> {
  const doc = await fs.readFile(path.resolve(import.meta.dirname, "../../docs/security.md"), "utf8");
  const section = doc.slice(doc.indexOf("## Running pull-request plans with read-only credentials"));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error("docs/security.md has no YAML block in its read-only section");
  return parseAllDocuments(block.replaceAll(DOC_IDENTITY, USER)).map((d) => d.toJS() as k8s.KubernetesObject);
}

function binding(kind: "ClusterRoleBinding" | "RoleBinding", role: string, namespace?: string): k8s.KubernetesObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind,
    metadata: { name: `${role}-${USER}`, ...(namespace ? { namespace } : {}) },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: kind === "RoleBinding" ? "Role" : "ClusterRole", name: role },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: USER }],
  } as k8s.KubernetesObject;
}

let objects: k8s.KubernetesObjectApi;
const created: k8s.KubernetesObject[] = [];
let kubeconfig = "";
let repo: HostileRepo;

async function create(object: k8s.KubernetesObject): Promise<void> {
  await objects.create(object);
  created.push(object);
}

/** Every write USER's plan sent (bosun's User-Agent) must be a dry-run. */
function expectOnlyDryRuns(result: HostileResult): void {
  expect(result.writes.map((w) => `${w.verb} ${w.requestURI}`), "a write that is not a dry-run").toEqual([]);
  for (const dryRun of result.dryRuns) expect(dryRun.requestURI, `${dryRun.verb} ${dryRun.requestURI}`).toMatch(/[?&]dryRun=All(&|$)/);
}

beforeAll(async () => {
  objects = sandboxCluster("gamma").objects;
  // A context for gamma as USER: the admin token, impersonating (`as`) the plan identity.
  const base = parse(await fs.readFile(sharedSandbox().kubeconfig, "utf8")) as {
    users: { name: string; user: Record<string, unknown> }[];
    contexts: { name: string; context: { cluster: string; user: string } }[];
  };
  const admin = base.users.find((u) => u.name === base.contexts.find((c) => c.name === "gamma")?.context.user);
  base.users.push({ name: "plan", user: { ...admin?.user, as: USER } });
  base.contexts.push({ name: "gamma-plan", context: { cluster: "gamma", user: "plan" } });
  repo = await hostileRepo({
    "clusters/a.yaml": clusterYaml("a", `  addons:\n    - name: ro\n      namespace: ${NAMESPACE}\n      kustomize: { path: addons/ro }\n`, "gamma-plan"),
    "addons/ro/kustomization.yaml": `namespace: ${NAMESPACE}\nresources: [ns.yaml, cm.yaml]\n`,
    "addons/ro/ns.yaml": `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NAMESPACE} }\n`,
    "addons/ro/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ro }\ndata: { a: b }\n",
  });
  kubeconfig = path.join(repo.dir, "..", "kubeconfig");
  await fs.writeFile(kubeconfig, stringify(base), { mode: 0o600 });
  const documented = await documentedObjects();
  const read = documented.filter((o) => o.metadata?.name === "bosun-plan-read");
  for (const object of read) await create(object);
  await create(binding("ClusterRoleBinding", "bosun-plan-read"));
  await create(binding("RoleBinding", "bosun-plan-read", "kube-system"));
  // The dry-run role and the policy are created by the second case; the policy must exist first.
  for (const object of documented.filter((o) => o.metadata?.name === "bosun-plan-dry-run-only")) await create(object);
});

afterAll(async () => {
  for (const object of created.reverse()) await objects.delete(object).catch(() => undefined);
  await repo.cleanup();
});

const plan = (): Promise<HostileResult> =>
  runHostile(["plan", "--fleet", repo.dir, "-o", "json"], canaries, {
    env: { KUBECONFIG: kubeconfig, BOSUN_KUSTOMIZE: sharedSandbox().binaries.kustomize, BOSUN_HELM: sharedSandbox().binaries.helm },
    clusters: ["gamma"],
  });

describe("docs/security.md: pull-request plans with read-only credentials", () => {
  it("with the read role only, the cluster is observed and planned; the add-on's refused dry-run fails only the add-on", async () => {
    const result = await plan();
    expect(result.timedOut).toBe(false);
    const planned = JSON.parse(result.stdout) as { clusters: { status: string; reason?: string; versions: { controlPlane?: unknown } }[] };
    const cluster = planned.clusters[0];
    expect(cluster?.status, result.stdout + result.stderr).not.toBe("unreachable");
    expect(cluster?.versions.controlPlane, "versions observed").toBeDefined();
    expect(result.stdout).toMatch(/403|forbidden/i);
    expectOnlyDryRuns(result);
  });

  it("with the dry-run role too, the add-on's diff is complete, and a real write by the identity is refused", async () => {
    const documented = await documentedObjects();
    for (const object of documented.filter((o) => o.metadata?.name === "bosun-plan-dry-run")) await create(object);
    await create(binding("ClusterRoleBinding", "bosun-plan-dry-run"));
    const result = await plan();
    const planned = JSON.parse(result.stdout) as { clusters: { status: string; steps: { kind: string; state: string }[] }[] };
    expect(planned.clusters[0]?.status, result.stdout + result.stderr).toBe("changes");
    expect(planned.clusters[0]?.steps.map((s) => `${s.kind} ${s.state}`)).toContain("addon.install pending");
    expect(result.dryRuns.length, "the dry-runs reached the API server").toBeGreaterThan(0);
    expectOnlyDryRuns(result);
    // The same credentials cannot write for real: the policy refuses it.
    const real = await execa("kubectl", ["--kubeconfig", kubeconfig, "--context", "gamma-plan", "create", "namespace", NAMESPACE], { reject: false });
    expect(real.exitCode).not.toBe(0);
    expect(real.stderr).toContain("bosun-plan may only dry-run");
    const dry = await execa("kubectl", ["--kubeconfig", kubeconfig, "--context", "gamma-plan", "create", "namespace", NAMESPACE, "--dry-run=server"], { reject: false });
    expect(dry.exitCode, dry.stderr).toBe(0);
  });
});
