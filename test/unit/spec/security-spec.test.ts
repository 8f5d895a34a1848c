/**
 * The spec loader against a hostile fleet repository: prototype paths in secretValues, trees too large to
 * check, links out of the fleet hidden behind many files, named pipes and devices, a clusters/ that leads
 * to `/`, alias bombs in values files and Chart.yaml, and a total budget. Every case is an error with a
 * file and line — never an exception, never a hang.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { mergeHelmValues } from "../../../src/addons/render.js";
import { readRegularFile } from "../../../src/bounded-file.js";
import { formatIssue, type SpecIssue } from "../../../src/spec/issues.js";
import type { SpecLimits } from "../../../src/spec/limits.js";
import { loadFleet } from "../../../src/spec/load.js";
import { fleetBuilder, lineOf, type FleetBuilder } from "./builder.js";

const FLEET = "fleet.yaml";
const written: string[] = [];

afterAll(async () => {
  await Promise.all(written.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function load(builder: FleetBuilder, prepare?: (dir: string) => Promise<void>, limits?: Partial<SpecLimits>): Promise<SpecIssue[]> {
  const dir = await builder.write();
  written.push(dir);
  await prepare?.(dir);
  const result = await loadFleet(dir, limits ? { limits } : {});
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

function billionLaughs(levels: number): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i <= levels; i += 1) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
  return `${lines.join("\n")}\n`;
}

async function manyFiles(dir: string, count: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await Promise.all(Array.from({ length: count }, (_, i) => fs.writeFile(path.join(dir, `f${i}.txt`), "")));
}

const SECRET_AT = ["spec", "defaults", "addons", 0, "helm", "secretValues"];

describe("prototype paths", () => {
  it.each(["__proto__.shell", "constructor.prototype.shell", "a.prototype", "x.__proto__"])("secretValues path %s is refused at its line", async (secretPath) => {
    const builder = fleetBuilder().set(FLEET, SECRET_AT, [{ path: secretPath, env: "BOSUN_X" }]);
    const errors = await load(builder);
    const line = lineOf(builder.render().get(FLEET) ?? "", `path: ${secretPath}`);
    expect(errors.map(formatIssue)).toEqual([
      expect.stringMatching(
        new RegExp(`^fleet.yaml:${line}:\\d+: .*no part may be __proto__, constructor or prototype\\. \\(at spec\\.defaults\\.addons\\[0\\]\\.helm\\.secretValues\\[0\\]\\.path\\)$`),
      ),
    ]);
  });

  it("a __proto__ key in a spec file or a values file is refused with its line", async () => {
    const builder = fleetBuilder()
      .set(FLEET, ["spec", "defaults", "addons", 0, "helm", "values"], { safe: 1 })
      .text("values/metrics.yaml", "a: 1\n__proto__:\n  shell: /bin/sh\n");
    const dir = await builder.write();
    written.push(dir);
    await fs.writeFile(path.join(dir, "clusters/canary.yaml"), (await fs.readFile(path.join(dir, "clusters/canary.yaml"), "utf8")).replace("spec:\n", "spec:\n  __proto__: { shell: /bin/sh }\n"));
    const result = await loadFleet(dir);
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.errors.map(formatIssue);
    expect(messages).toContainEqual(expect.stringMatching(/^clusters\/canary\.yaml:\d+:3: a map key may not be "__proto__" \(at spec\.__proto__\)$/));
    expect(messages).toContainEqual(expect.stringMatching(/values file "values\/metrics\.yaml" is not valid YAML: line 2, column 1 \(__proto__\): a map key may not be "__proto__"/));
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("shell");
  });

  it("merging values and setting secret paths never touches Object.prototype", () => {
    const hostile = JSON.parse('{"__proto__": {"shell": "/bin/sh"}, "constructor": {"prototype": {"shell": "/bin/sh"}}}') as Record<string, unknown>;
    const merged = mergeHelmValues([hostile], hostile, [
      { path: ["__proto__", "shell"], value: "/bin/sh" },
      { path: ["constructor", "prototype", "shell"], value: "/bin/sh" },
    ]);
    expect(({} as Record<string, unknown>).shell).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("shell");
    // The keys are ordinary data of the values tree, as Helm would see them.
    expect(JSON.parse(JSON.stringify(merged))).toEqual({ ["__proto__"]: { shell: "/bin/sh" }, constructor: { prototype: { shell: "/bin/sh" } } });
  });
});

describe("trees helm and kustomize read", () => {
  it("a chart with 10,001 files and one link to /etc/passwd is refused for its size", async () => {
    const errors = await load(fleetBuilder().symlink("charts/metrics/zz-passwd", "/etc/passwd"), (dir) => manyFiles(path.join(dir, "charts/metrics/files"), 10_001));
    expect(errors.map((e) => e.message)).toEqual(['local chart "charts/metrics" holds more than 10000 files and directories; bosun refuses larger trees']);
  });

  it("a link out of the fleet deep in a large (but allowed) kustomize tree is found", async () => {
    const errors = await load(fleetBuilder().symlink("kustomize/overlays/canary/z/deep/passwd", "/etc/passwd"), (dir) => manyFiles(path.join(dir, "kustomize/overlays/canary/a"), 9_000));
    expect(errors.map((e) => e.message)).toEqual([
      'kustomize path "kustomize/overlays/canary" holds a symlink to a place outside the fleet directory: kustomize/overlays/canary/z/deep/passwd',
    ]);
  });

  it("a link to a directory inside the fleet is followed: what it holds is checked too", async () => {
    const errors = await load(fleetBuilder().symlink("charts/metrics/templates", "../../elsewhere").symlink("elsewhere/passwd", "/etc/passwd"));
    expect(errors.map((e) => e.message)).toEqual(['local chart "charts/metrics" holds a symlink to a place outside the fleet directory: elsewhere/passwd']);
  });

  it("Chart.yaml linked to /dev/zero is refused without reading it", async () => {
    const builder = fleetBuilder().remove("charts/metrics/Chart.yaml").symlink("charts/metrics/Chart.yaml", "/dev/zero");
    const errors = await load(builder);
    expect(errors.map((e) => e.message)).toEqual(['local chart "charts/metrics" holds a symlink to a place outside the fleet directory: charts/metrics/Chart.yaml']);
  });

  it("a named pipe as Chart.yaml, in a chart, as a values file or a cluster file is refused, never opened", async () => {
    const builder = fleetBuilder().remove("charts/metrics/Chart.yaml").text("values/metrics.yaml", "");
    const errors = await load(builder, async (dir) => {
      await fs.rm(path.join(dir, "values/metrics.yaml"));
      for (const fifo of ["charts/metrics/Chart.yaml", "kustomize/overlays/canary/pipe", "values/metrics.yaml", "clusters/pipe.yaml"]) await execa("mkfifo", [path.join(dir, fifo)]);
    });
    expect(errors.map((e) => `${e.file}: ${e.message}`).sort()).toEqual([
      'clusters/pipe.yaml: "clusters/pipe.yaml" is a named pipe (FIFO), not a regular file',
      'clusters/canary.yaml: kustomize path "kustomize/overlays/canary" holds something that is not a regular file or directory (a named pipe, socket or device): kustomize/overlays/canary/pipe',
      'fleet.yaml: local chart "charts/metrics" holds something that is not a regular file or directory (a named pipe, socket or device): charts/metrics/Chart.yaml',
      'fleet.yaml: values file "values/metrics.yaml" is not a regular file (a named pipe, socket or device)',
    ].sort());
  });

  it("clusters/ linked to / is refused without walking it", async () => {
    const errors = await load(fleetBuilder().remove("clusters/canary.yaml").remove("clusters/prod.yaml").symlink("clusters", "/"));
    expect(errors.map((e) => `${e.file}: ${e.message}`)).toEqual(['clusters: "clusters" is a symlink to a place outside the fleet directory']);
  });

  it("clusters/ with more entries than the limit is refused as a whole", async () => {
    const errors = await load(fleetBuilder(), (dir) => manyFiles(path.join(dir, "clusters/notes"), 200), { maxTreeEntries: 100 });
    expect(errors.map((e) => `${e.file}: ${e.message}`)).toEqual(['clusters: "clusters" holds more than 100 entries; bosun refuses larger trees']);
  });
});

describe("YAML limits on every file the spec names", () => {
  it("a billion-laughs values file is an error naming the file and the limit", async () => {
    const builder = fleetBuilder().text("values/metrics.yaml", billionLaughs(9));
    const errors = await load(builder);
    const line = lineOf(builder.render().get(FLEET) ?? "", "- values/metrics.yaml");
    expect(errors.map(formatIssue)).toEqual([
      expect.stringMatching(new RegExp(`^fleet.yaml:${line}:\\d+: .*values file "values/metrics.yaml" is not valid YAML: line \\d+, column \\d+ \\(a\\d(\\[\\d\\])+\\): more than 100 YAML aliases in one document \\(at spec\\.defaults\\.addons\\[0\\]\\.helm\\.valuesFiles\\[0\\]\\)$`)),
    ]);
  });

  it("a Chart.yaml that expands past the node limit is an error", async () => {
    const chart = `apiVersion: v2\nname: metrics\nversion: 0.1.0\n${Array.from({ length: 200 }, (_, i) => `k${i}: [1, 2, 3]`).join("\n")}\n`;
    const errors = await load(fleetBuilder().text("charts/metrics/Chart.yaml", chart), undefined, { maxNodes: 500 });
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^local chart "charts\/metrics" Chart.yaml is not valid YAML: line \d+, column \d+ \(k\d+(\[\d\])?\): document expands to more than 500 YAML nodes$/)]);
  });

  it("a duplicate key in a values file is an error with its line", async () => {
    const errors = await load(fleetBuilder().text("values/metrics.yaml", "replicaCount: 2\nreplicaCount: 3\n"));
    expect(errors.map((e) => e.message)).toEqual([
      'values file "values/metrics.yaml" is not valid YAML: line 2, column 1 (replicaCount): YAML: Map keys must be unique: "replicaCount" appears twice',
    ]);
  });

  it("the spec files of one load share a total byte budget", async () => {
    const builder = fleetBuilder();
    for (let i = 0; i < 20; i += 1) builder.cluster(`clusters/c${i}.yaml`, `c${i}`, { env: "prod" });
    const errors = await load(builder, undefined, { maxTotalBytes: 4_000 });
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/^the spec files hold \d+ bytes; bosun reads at most 4000 bytes of spec in total$/)]);
  });

  it("the files of one load share a total node budget", async () => {
    const errors = await load(fleetBuilder().text("values/metrics.yaml", `${Array.from({ length: 300 }, (_, i) => `k${i}: ${i}`).join("\n")}\n`), undefined, { maxTotalNodes: 250 });
    expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/would expand to more than 250 nodes in total$/));
  });
});

describe("readRegularFile", () => {
  it("refuses a named pipe, a device and a file over the limit without blocking; reads a regular file", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-read-"));
    written.push(dir);
    await execa("mkfifo", [path.join(dir, "pipe")]);
    await fs.writeFile(path.join(dir, "big"), "x".repeat(101));
    await fs.writeFile(path.join(dir, "ok"), "a: 1\n");
    await fs.symlink(path.join(dir, "ok"), path.join(dir, "link"));
    expect(await readRegularFile(path.join(dir, "pipe"), 100)).toEqual({ ok: false, problem: "not-regular" });
    expect(await readRegularFile("/dev/zero", 100)).toEqual({ ok: false, problem: "not-regular" });
    expect(await readRegularFile(path.join(dir, "big"), 100)).toEqual({ ok: false, problem: "too-large" });
    expect(await readRegularFile(path.join(dir, "none"), 100)).toEqual({ ok: false, problem: "missing" });
    expect(await readRegularFile(path.join(dir, "link"), 100, { noFollow: true })).toEqual({ ok: false, problem: "not-regular" });
    expect(await readRegularFile(path.join(dir, "link"), 100)).toEqual({ ok: true, text: "a: 1\n" });
  });
});
