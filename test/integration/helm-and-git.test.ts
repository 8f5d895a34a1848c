/**
 * The test servers that stand in for remote hosts: a Helm chart repository (real `helm package` and
 * `helm repo index`) from which the real helm installs into a sandbox cluster, and a Git smart-HTTP server
 * (real `git http-backend`) from which isomorphic-git clones.
 */
import fs from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import git from "isomorphic-git";
import gitHttp from "isomorphic-git/http/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helmStatus, helmUpgradeInstall } from "../../src/tools/helm.js";
import { startChartRepo, type ChartRepo } from "../support/chart-repo.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { sandboxCluster, sharedSandbox } from "../support/sandbox.js";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");

describe("local Helm chart repository", () => {
  let repo: ChartRepo;
  const helm = (): string => sharedSandbox().binaries.helm ?? "helm";

  beforeAll(async () => {
    repo = await startChartRepo([path.join(FIXTURES, "charts/hello")], helm());
  });

  afterAll(async () => {
    await repo.close();
  });

  it("serves an index listing the packaged chart", async () => {
    const index = await new Promise<string>((resolve, reject) => {
      http.get(`${repo.url}/index.yaml`, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => {
          resolve(body);
        });
      }).on("error", reject);
    });
    expect(index).toContain("hello");
    expect(index).toContain(`${repo.url}/hello-0.1.0.tgz`);
  });

  it("installs a chart from it into a sandbox cluster with helm upgrade --install", async () => {
    const target = { kubeconfig: sharedSandbox().kubeconfig, context: "beta" };
    const namespace = `helm-${Date.now()}`;
    await helmUpgradeInstall(
      target,
      { release: "greeter", namespace, chart: "hello", repo: repo.url, version: "0.1.0", values: { message: "from the test" }, wait: true, helmTimeout: "3m", createNamespace: true },
      { helm: helm() },
    );
    const status = await helmStatus(target, "greeter", namespace, { helm: helm() });
    expect(status.info.status).toBe("deployed");
    expect(status.version).toBe(1);
    const { core, apps } = sandboxCluster("beta");
    const cm = await core.readNamespacedConfigMap({ name: "greeter-settings", namespace });
    expect(cm.data?.message).toBe("from the test");
    const deployment = await apps.readNamespacedDeployment({ name: "greeter", namespace });
    expect(deployment.status?.readyReplicas).toBe(2);
    // Helm 3 and 4 keep the release record as a Secret of type helm.sh/release.v1.
    const secrets = await core.listNamespacedSecret({ namespace, fieldSelector: "type=helm.sh/release.v1" });
    expect(secrets.items.map((s) => s.metadata?.labels?.name)).toEqual(["greeter"]);
    await core.deleteNamespace({ name: namespace });
  });
});

describe("local Git smart-HTTP server", () => {
  let server: GitServer;
  let workdir: string;

  beforeAll(async () => {
    server = await startGitServer({ auth: { username: "fleet-bot", password: "s3cret-token" } });
    workdir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-clone-"));
  });

  afterAll(async () => {
    await server.close();
    await fs.rm(workdir, { recursive: true, force: true });
  });

  it("lets isomorphic-git clone a served fixture, with credentials", async () => {
    const url = await server.serveFixture(path.join(FIXTURES, "git/fleet-min"), "fleet");
    const dir = path.join(workdir, "fleet");
    await git.clone({
      fs,
      http: gitHttp,
      dir,
      url,
      ref: "main",
      singleBranch: true,
      depth: 1,
      onAuth: () => ({ username: "fleet-bot", password: "s3cret-token" }),
    });
    const text = await fs.readFile(path.join(dir, "clusters/alpha.yaml"), "utf8");
    expect(text).toContain("name: alpha");
    const [commit] = await git.log({ fs, dir, depth: 1 });
    expect(commit?.commit.message.trim()).toBe("fleet fixture");
  });

  it("refuses a clone without credentials", async () => {
    const url = await server.serveFixture(path.join(FIXTURES, "git/fleet-min"), "private");
    await expect(git.clone({ fs, http: gitHttp, dir: path.join(workdir, "anon"), url, singleBranch: true, depth: 1 })).rejects.toThrow(/401/);
  });
});
