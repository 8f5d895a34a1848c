/**
 * Hostile kustomizations (issue 12, defect 5): a pull request's kustomization may name files outside the
 * repository, remote bases on internal addresses, Git refs that are options, Helm inflation and plugins.
 * `bosun validate` and `bosun plan` refuse every one of them from the spec, naming the kustomization
 * file, line and field — before any kustomize runs: no marker, no canary, no request to the stand-in
 * internal server, no write. A legitimate overlay on an in-repo base still plans.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRecordingServer, type RecordingServer } from "./recording-server.js";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
let internal: RecordingServer;
const repos: HostileRepo[] = [];

beforeAll(async () => {
  internal = await startRecordingServer();
});

afterAll(async () => {
  await internal.close();
  await Promise.all(repos.map((r) => r.cleanup()));
});

const ADDON = `  addons:
    - name: evil
      namespace: hostile-kustomize
      kustomize: { path: addons/evil/overlay }
`;

const BASE = {
  "addons/evil/base/kustomization.yaml": "resources:\n  - cm.yaml\n",
  "addons/evil/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: evil }\ndata: { a: b }\n",
};

/** A fleet with one cluster (sandbox gamma) whose add-on is the overlay `kustomization`, plus `files`. */
async function fleetWith(kustomization: string, files: Record<string, string> = {}): Promise<HostileRepo> {
  const repo = await hostileRepo({
    "clusters/gamma.yaml": clusterYaml("gamma", ADDON),
    ...BASE,
    "addons/evil/overlay/kustomization.yaml": kustomization,
    ...files,
  });
  repos.push(repo);
  return repo;
}

const OVERLAY = "addons/evil/overlay/kustomization.yaml";

interface Case {
  name: string;
  kustomization: (server: RecordingServer) => string;
  files?: Record<string, string>;
  links?: Record<string, string>;
  /** `file:line` and the field the error must name. */
  at: string;
  field: string;
  message: RegExp;
}

const CASES: Case[] = [
  { name: "an absolute resource", kustomization: () => "resources:\n  - ../base\n  - /etc/passwd\n", at: `${OVERLAY}:3`, field: "resources[1]", message: /absolute path/ },
  { name: "a resource climbing out of the repository", kustomization: () => "resources:\n  - ../../../../../../etc\n", at: `${OVERLAY}:2`, field: "resources[0]", message: /leaves the fleet directory/ },
  {
    name: "a remote base on an internal address",
    kustomization: (s) => `resources:\n  - ${s.url}/base.git\n`,
    at: `${OVERLAY}:2`,
    field: "resources[0]",
    message: /remote resource/,
  },
  {
    name: "a remote base on the metadata address",
    kustomization: () => "resources:\n  - https://169.254.169.254/latest/meta-data\n",
    at: `${OVERLAY}:2`,
    field: "resources[0]",
    message: /remote resource/,
  },
  {
    name: "a Git ref that is an option",
    kustomization: (s) => `resources:\n  - ../base\n  - ${s.url}/repo.git?ref=--upload-pack=touch%20$MARKER/upload-pack\n`,
    at: `${OVERLAY}:3`,
    field: "resources[1]",
    message: /remote resource/,
  },
  {
    name: "Helm inflation from an internal repository",
    kustomization: (s) => `resources: [../base]\nhelmCharts:\n  - name: evil\n    repo: ${s.url}\n    version: 1.0.0\n    releaseName: evil\n`,
    at: `${OVERLAY}:2`,
    field: "helmCharts",
    message: /Helm chart inflation/,
  },
  {
    name: "an exec transformer plugin",
    kustomization: () => "resources: [../base]\ntransformers:\n  - exec.yaml\n",
    files: {
      "addons/evil/overlay/exec.yaml":
        "apiVersion: example.com/v1\nkind: Evil\nmetadata:\n  name: evil\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /usr/bin/touch\n        args: [$MARKER/exec-plugin]\n",
    },
    at: `${OVERLAY}:2`,
    field: "transformers",
    message: /plugins and KRM functions/,
  },
  {
    name: "a generator reading the process environment",
    kustomization: () => "secretGenerator:\n  - name: env\n    envs:\n      - /proc/self/environ\n",
    at: `${OVERLAY}:4`,
    field: "secretGenerator[0].envs[0]",
    message: /absolute path/,
  },
  {
    // In the base, which the add-on's own symlink scan does not cover: only the walker follows it there.
    name: "a generator file of a base symlinked out of the repository",
    kustomization: () => "resources:\n  - ../base\n",
    files: { "addons/evil/base/kustomization.yaml": "resources:\n  - cm.yaml\nconfigMapGenerator:\n  - name: stolen\n    files:\n      - stolen=leak.txt\n" },
    links: { "addons/evil/base/leak.txt": "/proc/self/environ" },
    at: "addons/evil/base/kustomization.yaml:6",
    field: "configMapGenerator[0].files[0]",
    message: /symlink to a place outside the fleet directory/,
  },
  {
    name: "a patch outside the repository",
    kustomization: () => "resources: [../base]\npatches:\n  - path: ../../../../../etc/hostname\n",
    at: `${OVERLAY}:3`,
    field: "patches[0].path",
    message: /leaves the fleet directory/,
  },
  {
    name: "a field spelled so only kustomize reads it",
    kustomization: () => "Resources:\n  - /etc/passwd\n",
    at: `${OVERLAY}:1`,
    field: "Resources",
    message: /kustomize would read it as "resources"/,
  },
  {
    name: "a base whose own kustomization names a remote",
    kustomization: () => "resources:\n  - ../base\n",
    files: { "addons/evil/base/kustomization.yaml": "resources:\n  - cm.yaml\n  - https://169.254.169.254/latest/user-data\n" },
    at: "addons/evil/base/kustomization.yaml:3",
    field: "resources[1]",
    message: /remote resource/,
  },
];

describe("hostile kustomizations are refused from the spec", () => {
  describe.each(CASES)("$name", (c) => {
    let repo: HostileRepo;
    beforeAll(async () => {
      // hostileRepo() writes $MARKER as the marker directory, where a payload would leave its trace.
      repo = await fleetWith(c.kustomization(internal), c.files);
      for (const [file, target] of Object.entries(c.links ?? {})) await repo.symlink(file, target);
    });

    it.each([["validate"], ["plan"]])("bosun %s", async (verb) => {
      const before = internal.requests.length;
      const args = verb === "validate" ? ["validate", repo.dir] : ["plan", "--fleet", repo.dir];
      const result = await runHostile(args, canaries);
      await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [`${c.at}:`, `(at ${c.field})`, c.message] });
      expect(internal.requests.slice(before), "the internal server was asked").toEqual([]);
    });
  });
});

describe("what the operator allows", () => {
  it("a remote base is still refused when its ref is an option, even with --allow-remote-kustomize", async () => {
    const repo = await fleetWith(`resources:\n  - https://github.com/org/repo?ref=--upload-pack=touch\n`);
    const result = await runHostile(["validate", "--allow-remote-kustomize", repo.dir], canaries);
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [`${OVERLAY}:2:`, "(at resources[0])", /option/] });
  });

  it("a remote base on an internal address is still refused with BOSUN_ALLOW_REMOTE_KUSTOMIZE=true", async () => {
    const before = internal.requests.length;
    const repo = await fleetWith(`resources:\n  - https://127.0.0.1:${internal.port}/base.git\n`);
    const result = await runHostile(["plan", "--fleet", repo.dir], canaries, { env: { BOSUN_ALLOW_REMOTE_KUSTOMIZE: "true" } });
    await expectSafe(repo, canaries, result, { exitCodes: [1], mentions: [`${OVERLAY}:2:`, /loopback address/] });
    expect(internal.requests.slice(before)).toEqual([]);
  });
});

describe("a legitimate overlay", () => {
  it("on a base in the repository, with a patch and a generator, still plans", async () => {
    const repo = await fleetWith(
      "resources:\n  - ../base\npatches:\n  - path: patch.yaml\nconfigMapGenerator:\n  - name: settings\n    files: [settings.properties]\n",
      {
        "addons/evil/overlay/patch.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: evil }\ndata: { a: patched }\n",
        "addons/evil/overlay/settings.properties": "mode=safe\n",
      },
    );
    const validated = await runHostile(["validate", repo.dir], canaries);
    await expectSafe(repo, canaries, validated, { exitCodes: [0], mentions: ["is valid"] });
    const planned = await runHostile(["plan", "--fleet", repo.dir, "-o", "json"], canaries);
    await expectSafe(repo, canaries, planned, { exitCodes: [0] });
    const plan = JSON.parse(planned.stdout) as { clusters: { name: string; status: string; steps: { kind: string; addon?: string; summary: string }[] }[] };
    const gamma = plan.clusters.find((c) => c.name === "gamma");
    expect(gamma?.status, planned.stdout).not.toBe("invalid");
    expect(gamma?.steps.some((s) => s.addon === "evil"), planned.stdout).toBe(true);
  });
});
