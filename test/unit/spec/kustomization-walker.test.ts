/**
 * The kustomization walker on its own: every field kustomize reads a path from is checked for
 * containment from the kustomization's own directory, bases and components are walked, remote resources,
 * Helm inflation and plugins are refused, and every error names the kustomization file, line and field.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { IssueCollector, type SpecIssue } from "../../../src/spec/issues.js";
import { checkKustomization, looksRemote, remoteProblem } from "../../../src/spec/kustomization.js";
import { DEFAULT_LIMITS } from "../../../src/spec/limits.js";
import { DEFAULT_REPO_POLICY, type RepoPolicy } from "../../../src/spec/repo-policy.js";

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

/** Files every case starts from: an overlay on a base, a component, patch and data files. */
const BASE_FILES: Record<string, string> = {
  "addons/app/base/kustomization.yaml": "resources:\n  - cm.yaml\n",
  "addons/app/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\n",
  "addons/app/component/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
  "addons/app/overlay/patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\ndata: { a: b }\n",
  "addons/app/overlay/data.properties": "a=b\n",
  "addons/app/overlay/data.env": "A=B\n",
  "addons/app/overlay/crd.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n",
  "addons/app/overlay/schema.json": "{}\n",
  "addons/app/overlay/replacement.yaml": "source: { kind: ConfigMap, name: app }\ntargets: []\n",
  "addons/other/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: other }\n",
  "secret.txt": "not for kustomize\n",
};

const OVERLAY = "addons/app/overlay";
const OVERLAY_FILE = `${OVERLAY}/kustomization.yaml`;

async function check(
  kustomization: string,
  options: { files?: Record<string, string>; links?: Record<string, string>; policy?: Partial<RepoPolicy> } = {},
): Promise<SpecIssue[]> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-kwalk-"));
  made.push(base);
  const root = path.join(base, "repo");
  const files = { ...BASE_FILES, [OVERLAY_FILE]: kustomization, ...options.files };
  for (const [file, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await fs.writeFile(path.join(root, file), text);
  }
  await fs.writeFile(path.join(base, "outside.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: outside }\n");
  for (const [file, target] of Object.entries(options.links ?? {})) {
    await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await fs.symlink(target.replace("$OUTSIDE", base), path.join(root, file));
  }
  const issues = new IssueCollector();
  const from = { file: "clusters/c.yaml", line: 9, col: 13, path: "spec.addons[0].kustomize.path" };
  await checkKustomization(await fs.realpath(root), OVERLAY, from, { limits: DEFAULT_LIMITS, policy: { ...DEFAULT_REPO_POLICY, ...options.policy }, issues });
  return issues.sorted().errors;
}

describe("legitimate kustomizations", () => {
  it.each([
    ["a base in the repo", "resources:\n  - ../base\n"],
    ["a base in another add-on's folder", "resources:\n  - ../../other/cm.yaml\n"],
    ["a file at the fleet's root", "configurations:\n  - ../../../secret.txt\n"],
    ["a component", "resources: [../base]\ncomponents: [../component]\n"],
    ["patches by path and inline", "resources: [../base]\npatches:\n  - path: patch.yaml\n  - patch: |-\n      - op: add\n        path: /data/x\n        value: y\n    target: { kind: ConfigMap }\n"],
    ["patchesStrategicMerge file and inline", "resources: [../base]\npatchesStrategicMerge:\n  - patch.yaml\n  - |-\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: { name: app }\n"],
    ["patchesJson6902 by path", "resources: [../base]\npatchesJson6902:\n  - path: patch.yaml\n    target: { version: v1, kind: ConfigMap, name: app }\n"],
    ["generators with files, envs and env", "configMapGenerator:\n  - name: a\n    files: [data.properties, key=data.properties]\n    envs: [data.env]\n  - name: b\n    env: data.env\nsecretGenerator:\n  - name: s\n    literals: [a=b]\n    type: Opaque\n"],
    ["crds, configurations, openapi, replacements", "crds: [crd.yaml]\nconfigurations: [crd.yaml]\nopenapi: { path: schema.json }\nreplacements:\n  - path: replacement.yaml\n"],
    ["the deprecated bases field", "bases: [../base]\n"],
    ["inert fields", "namespace: x\nnamePrefix: p-\ncommonLabels: { a: b }\nlabels: [{ pairs: { a: b } }]\nimages: [{ name: x, newTag: \"1\" }]\nreplicas: [{ name: x, count: 2 }]\nbuildMetadata: [originAnnotations]\nresources: [../base]\n"],
    ["empty plugin lists", "resources: [../base]\ntransformers: []\n"],
  ])("%s", async (_name, kustomization) => {
    expect(await check(kustomization)).toEqual([]);
  });
});

describe("refused kustomizations", () => {
  it.each<[string, string, { line: number; path: string; message: string; file?: string; files?: Record<string, string>; links?: Record<string, string> }]>([
    ["an absolute resource", "resources:\n  - /etc/passwd\n", { line: 2, path: "resources[0]", message: '"/etc/passwd" is an absolute path' }],
    ["a resource climbing out", "resources:\n  - ../base\n  - ../../../../etc\n", { line: 3, path: "resources[1]", message: '"../../../../etc" leaves the fleet directory' }],
    ["a resource just outside", "resources:\n  - ../../../../outside.yaml\n", { line: 2, path: "resources[0]", message: "leaves the fleet directory" }],
    ["a resource symlinked out", "resources:\n  - link.yaml\n", { line: 2, path: "resources[0]", message: "symlink to a place outside the fleet directory", links: { [`${OVERLAY}/link.yaml`]: "$OUTSIDE/outside.yaml" } }],
    ["a base symlinked out", "resources:\n  - linked-base\n", { line: 2, path: "resources[0]", message: "symlink to a place outside the fleet directory", links: { [`${OVERLAY}/linked-base`]: "/etc" } }],
    ["a missing resource", "resources:\n  - nope.yaml\n", { line: 2, path: "resources[0]", message: '"nope.yaml" does not exist' }],
    ["an https remote", "resources:\n  - https://169.254.169.254/latest/meta-data\n", { line: 2, path: "resources[0]", message: "is a remote resource" }],
    ["a git remote with an option ref", "resources:\n  - https://github.com/org/repo?ref=--upload-pack=touch\n", { line: 2, path: "resources[0]", message: "is a remote resource" }],
    ["a host-first remote", "resources:\n  - github.com/org/repo//deploy?ref=v1\n", { line: 2, path: "resources[0]", message: "is a remote resource" }],
    ["an ssh remote", "resources:\n  - git@github.com:org/repo.git\n", { line: 2, path: "resources[0]", message: "is a remote resource" }],
    ["a remote component", "components:\n  - https://example.com/c\n", { line: 2, path: "components[0]", message: "is a remote component" }],
    ["a component that is a file", "components:\n  - patch.yaml\n", { line: 2, path: "components[0]", message: "a component is a directory" }],
    ["patches path climbing out", "patches:\n  - path: ../../../../secret.txt\n", { line: 2, path: "patches[0].path", message: "leaves the fleet directory" }],
    ["patches path absolute", "patches:\n  - target: { kind: ConfigMap }\n    path: /etc/shadow\n", { line: 3, path: "patches[0].path", message: "is an absolute path" }],
    ["patchesStrategicMerge absolute", "patchesStrategicMerge:\n  - /etc/shadow\n", { line: 2, path: "patchesStrategicMerge[0]", message: "is an absolute path" }],
    ["patchesJson6902 outside", "patchesJson6902:\n  - path: ../../../../outside.yaml\n    target: { kind: ConfigMap }\n", { line: 2, path: "patchesJson6902[0].path", message: "leaves the fleet directory" }],
    ["configMapGenerator file outside", "configMapGenerator:\n  - name: x\n    files:\n      - key=/etc/passwd\n", { line: 4, path: "configMapGenerator[0].files[0]", message: "is an absolute path" }],
    ["secretGenerator envs outside", "secretGenerator:\n  - name: x\n    envs:\n      - ../../../../outside.yaml\n", { line: 4, path: "secretGenerator[0].envs[0]", message: "leaves the fleet directory" }],
    ["secretGenerator env absolute", "secretGenerator:\n  - name: x\n    env: /proc/self/environ\n", { line: 3, path: "secretGenerator[0].env", message: "is an absolute path" }],
    ["crds outside", "crds:\n  - /etc/passwd\n", { line: 2, path: "crds[0]", message: "is an absolute path" }],
    ["configurations outside", "configurations:\n  - ../../../../secret.txt\n", { line: 2, path: "configurations[0]", message: "leaves the fleet directory" }],
    ["openapi path outside", "openapi:\n  path: /etc/passwd\n", { line: 2, path: "openapi.path", message: "is an absolute path" }],
    ["replacements path outside", "replacements:\n  - path: /etc/passwd\n", { line: 2, path: "replacements[0].path", message: "is an absolute path" }],
    ["helmCharts", "helmCharts:\n  - name: x\n    repo: http://127.0.0.1\n", { line: 1, path: "helmCharts", message: "Helm chart inflation" }],
    ["helmGlobals", "helmGlobals:\n  chartHome: /tmp\n", { line: 1, path: "helmGlobals", message: "Helm chart inflation" }],
    ["helmChartInflationGenerator", "helmChartInflationGenerator:\n  - chartName: x\n", { line: 1, path: "helmChartInflationGenerator", message: "Helm chart inflation" }],
    ["generators", "generators:\n  - gen.yaml\n", { line: 1, path: "generators", message: "plugins and KRM functions" }],
    ["transformers", "transformers:\n  - |-\n    apiVersion: x\n    kind: Exec\n", { line: 1, path: "transformers", message: "plugins and KRM functions" }],
    ["validators", "validators:\n  - v.yaml\n", { line: 1, path: "validators", message: "plugins and KRM functions" }],
    ["a case variant of a field", "Resources:\n  - /etc/passwd\n", { line: 1, path: "Resources", message: 'kustomize would read it as "resources"' }],
    ["a case variant inside a patch", "patches:\n  - Path: /etc/passwd\n", { line: 2, path: "patches[0].Path", message: 'kustomize would read it as "path"' }],
    ["a YAML merge key", "<<: { resources: [/etc/passwd] }\n", { line: 1, path: '["<<"]', message: 'unknown kustomization field "<<"' }],
    ["an unknown field", "resourcez: [x]\n", { line: 1, path: "resourcez", message: "unknown kustomization field" }],
    ["a second YAML document", "resources: [../base]\n---\nresources: [/etc/passwd]\n", { line: 3, path: "", message: "holds one YAML document" }],
    ["a problem in a base", "resources:\n  - ../base\n", { file: "addons/app/base/kustomization.yaml", line: 3, path: "resources[1]", message: "is an absolute path", files: { "addons/app/base/kustomization.yaml": "resources:\n  - cm.yaml\n  - /etc/passwd\n" } }],
    ["a problem in a base's base", "resources:\n  - ../base\n", { file: "addons/other/kustomization.yaml", line: 1, path: "helmCharts", message: "Helm chart inflation", files: { "addons/app/base/kustomization.yaml": "resources:\n  - ../../other\n", "addons/other/kustomization.yaml": "helmCharts: [{ name: x }]\n" } }],
    ["a base without kustomization", "resources:\n  - ../../other\n", { line: 2, path: "resources[0]", message: "has no kustomization.yaml" }],
    ["a kustomization file symlinked out", "resources:\n  - ../../other\n", { line: 2, path: "resources[0]", message: "symlink to a place outside the fleet directory", links: { "addons/other/kustomization.yaml": "$OUTSIDE/outside.yaml" } }],
    ["two kustomization files", "resources:\n  - ../base\n", { line: 2, path: "resources[0]", message: "more than one kustomization file", files: { "addons/app/base/kustomization.yml": "resources: []\n" } }],
  ])("%s", async (_name, kustomization, expected) => {
    const errors = await check(kustomization, { ...(expected.files ? { files: expected.files } : {}), ...(expected.links ? { links: expected.links } : {}) });
    expect(errors.map((e) => `${e.file}:${e.line} ${e.path}`)).toContain(`${expected.file ?? OVERLAY_FILE}:${expected.line} ${expected.path}`);
    const match = errors.find((e) => e.file === (expected.file ?? OVERLAY_FILE) && e.line === expected.line && e.path === expected.path);
    expect(match?.message).toContain(expected.message);
  });

  it("a cycle of bases ends", async () => {
    const errors = await check("resources:\n  - ../base\n", { files: { "addons/app/base/kustomization.yaml": "resources:\n  - ../overlay\n" } });
    expect(errors).toEqual([]);
  });

  it("a remote is checked, not waved through, when the operator allows remotes", async () => {
    const errors = await check("resources:\n  - https://github.com/org/repo?ref=--upload-pack=touch\n  - https://github.com/org/repo//deploy?ref=v1.2.0\n", { policy: { allowRemoteKustomize: true } });
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([expect.stringMatching(/^resources\[0\]: .*option/)]);
  });
});

describe("remote entries", () => {
  it.each([
    ["https://github.com/org/repo", true],
    ["git::https://example.com/repo.git", true],
    ["git@github.com:org/repo.git", true],
    ["github.com/org/repo//x?ref=v1", true],
    ["gh:org/repo", true],
    ["../base", false],
    ["base/cm.yaml", false],
    ["cm.yaml", false],
  ])("looksRemote(%s) is %s", (written, remote) => {
    expect(looksRemote(written)).toBe(remote);
  });

  it.each([
    ["https://github.com/org/repo//deploy?ref=v1.2.0", undefined],
    ["github.com/org/repo?ref=main", undefined],
    ["https://github.com/org/repo?ref=--upload-pack=touch", "option"],
    ["https://github.com/org/repo?version=-x", "option"],
    ["https://github.com/org/repo?ref=a%20b", "whitespace"],
    ["https://github.com/org/repo?exec=x", "query parameter"],
    ["https://github.com/-org/repo", "path segment"],
    ["http://github.com/org/repo", "only https"],
    ["ssh://git@github.com/org/repo", "only https"],
    ["git@github.com:org/repo.git", "SSH"],
    ["https://user:pass@github.com/org/repo", "credentials"],
    ["https://169.254.169.254/latest", "link-local"],
    ["https://0x7f000001/repo", "loopback"],
    ["https://[::1]/repo", "loopback"],
  ])("remoteProblem(%s)", (written, problem) => {
    const found = remoteProblem(written);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });
});
