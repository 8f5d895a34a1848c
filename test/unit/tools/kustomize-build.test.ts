/**
 * `kustomizeBuild` with the real kustomize, on kustomizations the spec loader would refuse (so the
 * wrapper's flags are the second line of defence): an exec KRM function, Helm inflation and a file outside
 * the kustomization's root all fail the build, and the exec function never runs.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessError } from "../../../src/errors.js";
import { KUSTOMIZE_BUILD_FLAGS, kustomizeBuild } from "../../../src/tools/kustomize.js";

let base: string;
let marker: string;

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-kbuild-"));
  marker = path.join(base, "marker");
});

afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

async function overlay(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(base, name);
  for (const [file, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await fs.writeFile(path.join(dir, file), text);
  }
  return dir;
}

const CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n";

describe("kustomizeBuild", () => {
  it("spells every unsafe feature off", () => {
    expect(KUSTOMIZE_BUILD_FLAGS).toEqual(["--load-restrictor", "LoadRestrictionsRootOnly", "--enable-helm=false", "--enable-alpha-plugins=false", "--enable-exec=false", "--network=false"]);
  });

  it("builds a plain overlay", async () => {
    const dir = await overlay("plain", { "kustomization.yaml": "resources: [cm.yaml]\n", "cm.yaml": CM });
    expect(await kustomizeBuild(dir)).toContain("kind: ConfigMap");
  });

  it.each([
    [
      "an exec function",
      {
        "kustomization.yaml": "resources: [cm.yaml]\ntransformers: [exec.yaml]\n",
        "cm.yaml": CM,
        "exec.yaml": `apiVersion: example.com/v1\nkind: Evil\nmetadata:\n  name: evil\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /usr/bin/touch\n        args: ["MARKER"]\n`,
      },
    ],
    ["Helm inflation", { "kustomization.yaml": "helmCharts:\n  - name: x\n    repo: http://127.0.0.1:9\n    version: 1.0.0\n" }],
    ["a file outside the root", { "kustomization.yaml": "resources: [cm.yaml]\npatches:\n  - path: ../outside.yaml\n", "cm.yaml": CM }],
  ])("refuses %s", async (name, files) => {
    await fs.writeFile(path.join(base, "outside.yaml"), CM);
    const withMarker = Object.fromEntries(Object.entries(files).map(([file, text]) => [file, text.replace("MARKER", marker)]));
    const dir = await overlay(name.replaceAll(" ", "-"), withMarker);
    await expect(kustomizeBuild(dir)).rejects.toBeInstanceOf(ProcessError);
    await expect(fs.access(marker)).rejects.toThrow();
  });
});
