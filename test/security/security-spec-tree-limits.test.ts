/**
 * Trees a chart or overlay is read from, and the clusters/ directory: a link out of the fleet hidden
 * behind 10,001 files, a Chart.yaml linked to /dev/zero, named pipes where files are expected, and a
 * clusters/ that leads to `/`. Each is refused by `validate` and `plan` with a clear error naming the
 * directory and the limit — nothing read outside the fleet, nothing hanging.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { clusterYaml, expectSafe, hostileRepo, makeCanaries, runHostile, type HostileRepo } from "./support.js";

const canaries = makeCanaries();
const repos: HostileRepo[] = [];

afterEach(async () => {
  await Promise.all(repos.splice(0).map((r) => r.cleanup()));
});

async function repoWithChart(chart = "charts/web"): Promise<HostileRepo> {
  const repo = await hostileRepo({
    "clusters/web.yaml": clusterYaml("web", `  addons:\n    - name: web\n      helm: { chart: ${chart}, valuesFiles: [values/web.yaml] }`),
    [`${chart}/Chart.yaml`]: "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    [`${chart}/templates/cm.yaml`]: "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: web }\n",
    "values/web.yaml": "replicas: 1\n",
  });
  repos.push(repo);
  return repo;
}

/** Runs validate and plan; both must refuse safely with the same mentions, and print nothing of /etc/passwd. */
async function expectRefused(repo: HostileRepo, mentions: (string | RegExp)[]): Promise<void> {
  for (const args of [["validate", repo.dir], ["plan", "--fleet", repo.dir]]) {
    const result = await runHostile(args, canaries);
    await expectSafe(repo, canaries, result, { mentions });
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/root:.*:0:0:/);
  }
}

describe("hostile trees", () => {
  it("a chart with 10,001 files and a link to /etc/passwd is refused for its size", async () => {
    const repo = await repoWithChart();
    await fs.mkdir(path.join(repo.dir, "charts/web/files"), { recursive: true });
    await Promise.all(Array.from({ length: 10_001 }, (_, i) => fs.writeFile(path.join(repo.dir, "charts/web/files", `f${i}`), "")));
    await repo.symlink("charts/web/templates/zz-passwd.yaml", "/etc/passwd");
    await expectRefused(repo, ['local chart "charts/web" holds more than 10000 files and directories; bosun refuses larger trees']);
  });

  it("Chart.yaml linked to /dev/zero is refused without being read", async () => {
    const repo = await repoWithChart();
    await fs.rm(path.join(repo.dir, "charts/web/Chart.yaml"));
    await repo.symlink("charts/web/Chart.yaml", "/dev/zero");
    // The only error: Chart.yaml was never opened, so nothing else could be said about it.
    await expectRefused(repo, ['local chart "charts/web" holds a symlink to a place outside the fleet directory: charts/web/Chart.yaml', ": 1 error; nothing was loaded"]);
  });

  it("named pipes as Chart.yaml, a values file and a template are refused, never opened", async () => {
    const repo = await repoWithChart();
    for (const file of ["charts/web/Chart.yaml", "values/web.yaml"]) await fs.rm(path.join(repo.dir, file));
    for (const file of ["charts/web/Chart.yaml", "charts/web/templates/pipe.yaml", "values/web.yaml"]) await execa("mkfifo", [path.join(repo.dir, file)]);
    await expectRefused(repo, [
      'local chart "charts/web" holds something that is not a regular file or directory (a named pipe, socket or device): charts/web/Chart.yaml, charts/web/templates/pipe.yaml',
      'values file "values/web.yaml" is not a regular file (a named pipe, socket or device)',
    ]);
  });

  it("a named pipe as a cluster file is refused, never opened", async () => {
    const repo = await repoWithChart();
    await execa("mkfifo", [path.join(repo.dir, "clusters/pipe.yaml")]);
    await expectRefused(repo, ['clusters/pipe.yaml:1:1: "clusters/pipe.yaml" is a named pipe (FIFO), not a regular file']);
  });

  it("clusters/ linked to / is refused without walking the file system", async () => {
    const repo = await hostileRepo();
    repos.push(repo);
    await repo.symlink("clusters", "/");
    await expectRefused(repo, ['clusters:1:1: "clusters" is a symlink to a place outside the fleet directory']);
  });
});
