/**
 * Prototype pollution through the spec: a `secretValues` path of `__proto__.shell` (reading the SHELL
 * variable every CI machine has) used to set `Object.prototype.shell`, after which every child process
 * bosun started ran through a shell — and a chart directory named `x$(touch …)` ran the command. The
 * path is refused at its file and line by `validate` and `plan`, before anything is rendered.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
let repo: HostileRepo;
let env: Record<string, string>;

/** A chart directory whose name is a shell payload: harmless unless something runs it through a shell. */
const CHART = "charts/x$(touch $HOSTILE_MARKER)";

beforeAll(async () => {
  repo = await hostileRepo({
    [`${CHART}/Chart.yaml`]: "apiVersion: v2\nname: x\nversion: 0.1.0\n",
    [`${CHART}/templates/cm.yaml`]: "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\ndata: { a: b }\n",
  });
  env = { SHELL: "/bin/sh", HOSTILE_MARKER: path.join(repo.markerDir, "pwned") };
});

afterAll(async () => {
  await repo.cleanup();
});

describe.each([
  ["__proto__.shell"],
  ["constructor.prototype.shell"],
  ["values.__proto__.shell"],
])("secretValues path %s", (secretPath) => {
  beforeAll(async () => {
    await repo.write(
      "clusters/proto.yaml",
      clusterYaml(
        "proto",
        `  addons:
    - name: pwn
      helm:
        chart: "${CHART}"
        secretValues:
          - { path: ${secretPath}, env: SHELL }
          - { path: token, env: BOSUN_SECRET_CANARY }`,
      ),
    );
  });

  it("is refused by validate with file, line and field", async () => {
    const result = await runHostile(["validate", repo.dir], canaries, { env });
    await expectSafe(repo, canaries, result, {
      mentions: [/clusters\/proto\.yaml:\d+:\d+: .*no part may be __proto__, constructor or prototype/, "spec.addons[0].helm.secretValues[0].path"],
    });
  });

  it("is refused by plan before any child process runs", async () => {
    const result = await runHostile(["plan", "--fleet", repo.dir], canaries, { env });
    await expectSafe(repo, canaries, result, {
      mentions: [/clusters\/proto\.yaml:\d+:\d+: .*no part may be __proto__, constructor or prototype/, "spec.addons[0].helm.secretValues[0].path"],
    });
  });
});

describe("a __proto__ key in inline values", () => {
  it("is refused by plan with its line, and the chart's shell payload never runs", async () => {
    await repo.write(
      "clusters/proto.yaml",
      clusterYaml(
        "proto",
        `  addons:
    - name: pwn
      helm:
        chart: "${CHART}"
        values:
          __proto__: { shell: /bin/sh }`,
      ),
    );
    const result = await runHostile(["plan", "--fleet", repo.dir], canaries, { env });
    await expectSafe(repo, canaries, result, { mentions: [/clusters\/proto\.yaml:\d+:\d+: a map key may not be "__proto__"/] });
  });
});
