/**
 * The etcd backup CronJob and snapshot Job templates, pinned by golden YAML files (run with
 * UPDATE_GOLDEN=1 to rewrite them after an intended change), and the backup script's text.
 */
import fs from "node:fs/promises";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import {
  ETCD_BACKUP_LABELS,
  etcdBackupCronJob,
  etcdBackupScript,
  etcdSnapshotJob,
  shellQuote,
  type BackupImages,
} from "../../../src/backup/template.js";
import type { EtcdBackup } from "../../../src/spec/types.js";

const BACKUP: EtcdBackup = { schedule: "0 */6 * * *", retain: 28, beforeUpgrade: true, destination: { hostPath: "/var/backups/etcd" } };

async function matchesGolden(file: string, object: unknown): Promise<void> {
  const golden = new URL(`golden/${file}`, import.meta.url);
  const text = stringify(object, { lineWidth: 0 });
  if (process.env.UPDATE_GOLDEN === "1") await fs.writeFile(golden, text);
  expect(text).toBe(await fs.readFile(golden, "utf8"));
}

type Json = Record<string, unknown>;
const at = (object: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((value, key) => (value as Record<string | number, unknown> | undefined)?.[key], object);

describe("etcdBackupCronJob", () => {
  it("matches the golden CronJob (default images: busybox shell + distroless etcd image)", async () => {
    await matchesGolden("cronjob.yaml", etcdBackupCronJob("prod-eu-1", BACKUP));
  });

  it("matches the golden CronJob with one image that has everything", async () => {
    const images: BackupImages = { etcd: "registry.example.com/etcd-tools:3.6.5", busybox: null };
    await matchesGolden("cronjob-single-image.yaml", etcdBackupCronJob("prod-eu-1", BACKUP, images));
  });

  it("is deterministic", () => {
    expect(JSON.stringify(etcdBackupCronJob("a", BACKUP))).toBe(JSON.stringify(etcdBackupCronJob("a", structuredClone(BACKUP))));
  });

  it("carries the spec's schedule, destination and retain, and runs on control-plane nodes next to etcd", () => {
    const cronJob = etcdBackupCronJob("c", { ...BACKUP, schedule: "@daily", retain: 3, destination: { hostPath: "/srv/etcd snapshots" } });
    expect(cronJob.metadata).toMatchObject({ name: "bosun-etcd-backup", namespace: "kube-system", labels: ETCD_BACKUP_LABELS });
    expect(at(cronJob, "spec")).toMatchObject({ schedule: "@daily", concurrencyPolicy: "Forbid", timeZone: "Etc/UTC" });
    const pod = at(cronJob, "spec", "jobTemplate", "spec", "template", "spec") as Json;
    expect(pod).toMatchObject({
      hostNetwork: true,
      nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
      tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }],
    });
    expect(pod.volumes).toEqual(
      expect.arrayContaining([
        { name: "etcd-certs", hostPath: { path: "/etc/kubernetes/pki/etcd", type: "Directory" } },
        { name: "backup", hostPath: { path: "/srv/etcd snapshots", type: "DirectoryOrCreate" } },
      ]),
    );
    const script = at(pod, "containers", 0, "command", 2) as string;
    expect(script).toContain("retain=3\n");
  });
});

describe("etcdSnapshotJob", () => {
  it("matches the golden Job, built from the CronJob's pod template plus its label and report file", async () => {
    const job = etcdSnapshotJob("prod-eu-1", BACKUP, "bosun-etcd-snapshot-1-35-0");
    await matchesGolden("snapshot-job.yaml", job);
    const template = structuredClone(at(job, "spec", "template")) as { metadata: { labels: Record<string, string> }; spec: { containers: { env?: { name: string }[] }[] } };
    // What sets the one-off Job apart: the label the sandbox and `kubectl get -l` find it by, and the file
    // the script reports the snapshot's name in (read back as the pod's termination message).
    expect(template.metadata.labels["bosun.dev/snapshot"]).toBe("pre-upgrade");
    delete template.metadata.labels["bosun.dev/snapshot"];
    const container = template.spec.containers[0];
    expect(container?.env?.map((e) => e.name)).toContain("SNAPSHOT_REPORT");
    if (container) container.env = container.env?.filter((e) => e.name !== "SNAPSHOT_REPORT");
    expect(template).toEqual(at(etcdBackupCronJob("prod-eu-1", BACKUP), "spec", "jobTemplate", "spec", "template"));
  });

  it.each(["Upper", "a_b", "-a", "a".repeat(64), ""])("refuses the Job name %j", (name) => {
    expect(() => etcdSnapshotJob("c", BACKUP, name)).toThrow(/not a DNS-1123 label/);
  });
});

describe("etcdBackupScript", () => {
  it("saves with kubeadm's etcd client certificate, verifies with etcdutl, then prunes", () => {
    const script = etcdBackupScript(7, "/backup");
    expect(script).toContain("--cacert=/etc/kubernetes/pki/etcd/ca.crt");
    expect(script).toContain("--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt");
    expect(script).toContain("--key=/etc/kubernetes/pki/etcd/healthcheck-client.key");
    const save = script.indexOf("snapshot save");
    const verify = script.indexOf("etcdutl snapshot status");
    const rename = script.indexOf('mv "$partial" "$snapshot"');
    const prune = script.indexOf('rm -f "$f"');
    expect(save).toBeGreaterThan(0);
    expect(verify).toBeGreaterThan(save);
    expect(rename).toBeGreaterThan(verify);
    expect(prune).toBeGreaterThan(rename);
  });

  it("quotes the directory for the shell", () => {
    expect(etcdBackupScript(1, "/srv/it's here")).toContain(`dir='/srv/it'\\''s here'\n`);
  });

  it.each([0, -1, 1.5, Number.NaN])("refuses retain %s", (retain) => {
    expect(() => etcdBackupScript(retain, "/backup")).toThrow(/retain must be a positive integer/);
  });

  it("refuses a relative directory", () => {
    expect(() => etcdBackupScript(1, "backup")).toThrow(/must be absolute/);
  });
});

describe("shellQuote", () => {
  it.each([
    ["plain", "'plain'"],
    ["", "''"],
    ["a b$c`d\"e", "'a b$c`d\"e'"],
    ["it's", "'it'\\''s'"],
  ])("%j → %s", (text, quoted) => {
    expect(shellQuote(text)).toBe(quoted);
  });
});
