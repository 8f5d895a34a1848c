/**
 * YAML that costs minutes or gigabytes: a billion-laughs values file, a 1 MiB map of 112,000 keys (the
 * duplicate-key check used to compare every key with every other), a duplicate hidden at the end of such
 * a map in a values file, nesting a million levels deep. Each ends by itself with a clear error naming the
 * file and the limit, from `validate` and from `plan`.
 */
import { afterEach, describe, it } from "vitest";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
const repos: HostileRepo[] = [];

afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

function billionLaughs(): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i <= 9; i += 1) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
  return `${lines.join("\n")}\n`;
}

/** Under 1 MiB: `count` short keys (base 36), then `extra`. */
function bigMap(count: number, extra = ""): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i += 1) lines.push(`k${i.toString(36)}: 0`);
  return `${lines.join("\n")}\n${extra}`;
}

async function repoWithValues(values: string): Promise<HostileRepo> {
  const repo = await hostileRepo({
    "clusters/web.yaml": clusterYaml("web", "  addons:\n    - name: web\n      helm: { chart: charts/web, valuesFiles: [values/web.yaml] }"),
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\n",
    "values/web.yaml": values,
  });
  repos.push(repo);
  return repo;
}

async function expectRefused(repo: HostileRepo, mentions: (string | RegExp)[]): Promise<void> {
  for (const args of [["validate", repo.dir], ["plan", "--fleet", repo.dir]]) {
    await expectSafe(repo, canaries, await runHostile(args, canaries), { mentions });
  }
}

describe("hostile YAML", () => {
  it("a billion-laughs values file is a clear error", async () => {
    const repo = await repoWithValues(billionLaughs());
    await expectRefused(repo, [/clusters\/web\.yaml:\d+:\d+: values file "values\/web\.yaml" is not valid YAML: line \d+, column \d+ \(a2\[\d\]\[\d\]\): more than 100 YAML aliases in one document/]);
  });

  it("a 1 MiB cluster file of 112,000 keys ends quickly at the node limit", async () => {
    const repo = await hostileRepo({ "clusters/big.yaml": bigMap(112_000) });
    repos.push(repo);
    await expectRefused(repo, [/clusters\/big\.yaml:\d+:\d+: document expands to more than 100000 YAML nodes/]);
  });

  it("a duplicate at the end of a 99,000-key values file is found with its line", async () => {
    const repo = await repoWithValues(bigMap(99_000, "ka: again\n"));
    await expectRefused(repo, ['values file "values/web.yaml" is not valid YAML: line 99001, column 1 (ka): YAML: Map keys must be unique: "ka" appears twice']);
  });

  it("nesting a million levels deep is an error, not a crash", async () => {
    const repo = await repoWithValues(`a: ${"[".repeat(1_000_000)}\n`);
    await expectRefused(repo, ['values file "values/web.yaml" is not valid YAML: line 1, column 1: flow collections ([ ] and { }) nested more than 1000 levels deep']);
  });
});
