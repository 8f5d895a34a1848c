/** The node upgrade Job: names, labels, pinning, privileges, and the script's variants. */
import { execa } from "execa";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { upgradeJob, upgradeJobName, upgradeScript } from "../../../../src/drivers/kubeadm/upgrade-job.js";

describe("upgradeJobName", () => {
  it("is stable and readable for ordinary node names", () => {
    expect(upgradeJobName("prod-eu-1-cp-1", "control-plane", "1.35.0")).toBe("bosun-upgrade-prod-eu-1-cp-1-cp-v1-35-0");
    expect(upgradeJobName("w1", "kubelet", "1.35.0")).toBe("bosun-upgrade-w1-kubelet-v1-35-0");
  });

  it("stays a valid 63-character name with a hash for long and dotted node names", () => {
    const long = "ip-10-0-12-34.eu-central-1.compute.internal-with-a-very-long-suffix";
    const name = upgradeJobName(long, "kubelet", "1.35.10");
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name).toMatch(/-kubelet-v1-35-10$/);
    expect(upgradeJobName(`${long}x`, "kubelet", "1.35.10")).not.toBe(name);
  });
});

describe("upgradeJob", () => {
  const job = upgradeJob({ cluster: "c", node: "n1", role: "worker", phase: "kubelet", version: "1.35.4", kubeadm: "node", packageManager: "apt" });
  const spec = job.spec as { backoffLimit: number; template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> } };
  const pod = spec.template.spec as {
    nodeName: string;
    hostPID: boolean;
    tolerations: unknown[];
    containers: { command: string[]; env: { name: string; value: string }[]; securityContext: { privileged: boolean } }[];
  };

  it("is labelled with the node, the target version and the phase, on the Job and its pods", () => {
    const expected = { "bosun.dev/node-upgrade": "n1", "bosun.dev/target-version": "v1.35.4", "bosun.dev/upgrade-phase": "kubelet" };
    expect(job.metadata.labels).toMatchObject(expected);
    expect(spec.template.metadata.labels).toMatchObject(expected);
  });

  it("is pinned to the node, tolerates its cordon, runs once, privileged, in the host's root", () => {
    expect(pod.nodeName).toBe("n1");
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(spec.backoffLimit).toBe(0);
    expect(pod.hostPID).toBe(true);
    expect(pod.containers[0]?.securityContext.privileged).toBe(true);
    expect(pod.containers[0]?.command.slice(0, 3)).toEqual(["chroot", "/host", "/bin/sh"]);
    expect(Object.fromEntries(pod.containers[0]?.env.map((e) => [e.name, e.value]) ?? [])).toEqual({
      BOSUN_VERSION: "1.35.4",
      BOSUN_MINOR: "1.35",
      BOSUN_PHASE: "kubelet",
      BOSUN_ROLE: "worker",
      BOSUN_KUBEADM: "node",
    });
  });
});

describe("upgradeScript", () => {
  it("apt: points the repository at the minor, installs pinned held packages, kubeadm apply or node, restarts the kubelet", () => {
    const script = upgradeScript("apt");
    expect(script).toContain('s#/v[0-9][0-9.]*/deb/#/v$BOSUN_MINOR/deb/#');
    expect(script).toContain("apt-get install -y -q --allow-change-held-packages");
    expect(script).toContain('kubeadm upgrade apply -y "v$BOSUN_VERSION"');
    expect(script).toContain("kubeadm upgrade node");
    expect(script).toContain("systemctl restart kubelet");
    expect(script.startsWith("set -euf")).toBe(true);
  });

  it("yum and dnf: their own repository file and install command", () => {
    expect(upgradeScript("yum")).toContain("yum install -y");
    expect(upgradeScript("dnf")).toContain("dnf install -y");
    expect(upgradeScript("dnf")).toContain("/etc/yum.repos.d/kubernetes.repo");
    expect(upgradeScript("dnf")).toContain("--disableexcludes=kubernetes");
  });
});

describe("upgradeScript run by a real shell against stand-in tools", () => {
  // The node's tools are stand-ins that log their arguments; the script itself runs as written.
  async function run(packageManager: "apt" | "yum" | "dnf", env: Record<string, string>): Promise<{ code: number; calls: string[] }> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-upgrade-script-"));
    try {
      const log = path.join(dir, "calls.log");
      for (const tool of ["apt-get", "apt-mark", "yum", "dnf", "kubeadm", "systemctl", "hostname"]) {
        await fs.writeFile(path.join(dir, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n`, { mode: 0o755 });
      }
      // A file a glob would match, in the working directory the script runs in.
      await fs.writeFile(path.join(dir, "kubeadm=1.35.4-1.1"), "");
      const result = await execa("sh", ["-c", upgradeScript(packageManager)], {
        cwd: dir,
        env: { PATH: `${dir}:/usr/bin:/bin`, BOSUN_VERSION: "1.35.4", BOSUN_MINOR: "1.35", ...env },
        extendEnv: false,
        reject: false,
      });
      const calls = (await fs.readFile(log, "utf8").catch(() => "")).trim().split("\n");
      return { code: result.exitCode ?? 1, calls };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  it("apt, first control-plane node: kubeadm pinned and held, then kubeadm upgrade apply", async () => {
    const { code, calls } = await run("apt", { BOSUN_PHASE: "control-plane", BOSUN_ROLE: "control-plane", BOSUN_KUBEADM: "apply" });
    expect(code).toBe(0);
    expect(calls).toEqual([
      "hostname ",
      "apt-get update -q",
      "apt-mark unhold kubeadm",
      "apt-get install -y -q --allow-change-held-packages -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold kubeadm=1.35.4-*",
      "apt-mark hold kubeadm",
      "kubeadm upgrade apply -y v1.35.4",
    ]);
  });

  it("apt, worker kubelet phase: kubeadm, kubeadm upgrade node, kubelet and kubectl, restart", async () => {
    const { code, calls } = await run("apt", { BOSUN_PHASE: "kubelet", BOSUN_ROLE: "worker", BOSUN_KUBEADM: "node" });
    expect(code).toBe(0);
    expect(calls.slice(2)).toEqual([
      "apt-mark unhold kubeadm",
      "apt-get install -y -q --allow-change-held-packages -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold kubeadm=1.35.4-*",
      "apt-mark hold kubeadm",
      "kubeadm upgrade node",
      "apt-mark unhold kubelet kubectl",
      "apt-get install -y -q --allow-change-held-packages -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold kubelet=1.35.4-* kubectl=1.35.4-*",
      "apt-mark hold kubelet kubectl",
      "systemctl daemon-reload",
      "systemctl restart kubelet",
    ]);
  });

  it("dnf, control-plane kubelet phase: fresh metadata, pinned packages, no kubeadm", async () => {
    const { code, calls } = await run("dnf", { BOSUN_PHASE: "kubelet", BOSUN_ROLE: "control-plane", BOSUN_KUBEADM: "node" });
    expect(code).toBe(0);
    expect(calls.slice(1)).toEqual([
      "dnf clean expire-cache -q",
      "dnf install -y kubelet-1.35.4 kubectl-1.35.4 --disableexcludes=kubernetes",
      "systemctl daemon-reload",
      "systemctl restart kubelet",
    ]);
  });

  it("stops at the first failing command", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-upgrade-script-"));
    try {
      await fs.writeFile(path.join(dir, "apt-get"), "#!/bin/sh\nexit 100\n", { mode: 0o755 });
      await fs.writeFile(path.join(dir, "hostname"), "#!/bin/sh\necho n1\n", { mode: 0o755 });
      const result = await execa("sh", ["-c", upgradeScript("apt")], {
        cwd: dir,
        env: { PATH: `${dir}:/usr/bin:/bin`, BOSUN_VERSION: "1.35.4", BOSUN_MINOR: "1.35", BOSUN_PHASE: "kubelet", BOSUN_ROLE: "worker", BOSUN_KUBEADM: "node" },
        extendEnv: false,
        reject: false,
      });
      expect(result.exitCode).toBe(100);
      expect(result.stdout).not.toContain("bosun: done");
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
