/**
 * The render cache on its own: the LRU's entry and byte bounds and its eviction order, failures never
 * stored, identical renders joined, and the content digests its keys are made of — over real files in a
 * temp directory (symlinks, a named pipe, trees past the bounds). The spawn-free second plan is proven
 * with the real helm and kustomize in test/integration/render-cache.test.ts.
 */
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DEFAULT_RENDER_CACHE_LIMITS,
  executableIdentity,
  kustomizationDigest,
  MAX_HASHED_BYTES,
  processRenderCache,
  RenderCache,
  renderKey,
  renderStats,
  secretDigest,
  treeDigest,
} from "../../../src/addons/render-cache.js";
import { DEFAULT_LIMITS } from "../../../src/spec/limits.js";

/** A render that counts its runs and returns `text`. */
function counted(text: string): { run: () => Promise<string>; runs: () => number } {
  let runs = 0;
  return {
    run: () => {
      runs += 1;
      return Promise.resolve(text);
    },
    runs: () => runs,
  };
}

describe("RenderCache bounds", () => {
  it("keeps at most maxEntries outputs, evicting the least recently used", async () => {
    const cache = new RenderCache({ maxEntries: 3 });
    for (const key of ["a", "b", "c"]) await cache.render(key, () => Promise.resolve(`out-${key}`));
    // A use makes `a` the most recent: `b` is now the oldest.
    expect(await cache.render("a", () => Promise.reject(new Error("must not render")))).toBe("out-a");
    const before = renderStats().evictions;
    await cache.render("d", () => Promise.resolve("out-d"));
    expect(cache.size().entries).toBe(3);
    expect(renderStats().evictions).toBe(before + 1);
    expect(["a", "b", "c", "d"].map((k) => cache.has(k))).toEqual([true, false, true, true]);
    // `b` was evicted: asking again renders again.
    const again = counted("out-b");
    await cache.render("b", again.run);
    expect(again.runs()).toBe(1);
    expect(cache.size().entries).toBe(3);
    expect(cache.has("c")).toBe(false);
  });

  it("keeps at most maxBytes, charging two bytes a character, and never stores an output larger than the bound", async () => {
    const cache = new RenderCache({ maxEntries: 100, maxBytes: 100 });
    const text = (c: string): string => c.repeat(20); // 40 bytes charged
    await cache.render("x", () => Promise.resolve(text("x")));
    await cache.render("y", () => Promise.resolve(text("y")));
    expect(cache.size()).toEqual({ entries: 2, bytes: 80 });
    await cache.render("z", () => Promise.resolve(text("z")));
    expect(cache.size()).toEqual({ entries: 2, bytes: 80 });
    expect([cache.has("x"), cache.has("y"), cache.has("z")]).toEqual([false, true, true]);
    // 51 characters = 102 bytes: returned, not kept, nothing else evicted for it.
    expect(await cache.render("big", () => Promise.resolve("b".repeat(51)))).toHaveLength(51);
    expect(cache.has("big")).toBe(false);
    expect(cache.size()).toEqual({ entries: 2, bytes: 80 });
  });

  it("stays within both bounds whatever is put in", async () => {
    const cache = new RenderCache({ maxEntries: 7, maxBytes: 1000 });
    for (let i = 0; i < 200; i += 1) {
      await cache.render(`k${i % 37}`, () => Promise.resolve("v".repeat((i * 13) % 300)));
      expect(cache.size().entries).toBeLessThanOrEqual(7);
      expect(cache.size().bytes).toBeLessThanOrEqual(1000);
    }
  });

  it("has defaults that hold the largest single render helm or kustomize may print", () => {
    expect(DEFAULT_RENDER_CACHE_LIMITS.maxBytes).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(DEFAULT_RENDER_CACHE_LIMITS.maxEntries).toBeGreaterThan(0);
    expect(processRenderCache()).toBe(processRenderCache());
    expect(processRenderCache().limits).toEqual(DEFAULT_RENDER_CACHE_LIMITS);
  });
});

describe("RenderCache renders", () => {
  it("does not store a failed render: the next request renders again", async () => {
    const cache = new RenderCache();
    await expect(cache.render("k", () => Promise.reject(new Error("helm failed")))).rejects.toThrow("helm failed");
    expect(cache.has("k")).toBe(false);
    const next = counted("ok");
    expect(await cache.render("k", next.run)).toBe("ok");
    expect(next.runs()).toBe(1);
    expect(await cache.render("k", next.run)).toBe("ok");
    expect(next.runs()).toBe(1);
  });

  it("joins identical renders in flight, and counts hits and misses", async () => {
    const cache = new RenderCache();
    const before = renderStats();
    let release: (text: string) => void = () => undefined;
    let runs = 0;
    const slow = (): Promise<string> => {
      runs += 1;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const first = cache.render("k", slow);
    const second = cache.render("k", slow);
    release("done");
    expect(await Promise.all([first, second])).toEqual(["done", "done"]);
    expect(runs).toBe(1);
    const after = renderStats();
    expect(after.misses - before.misses).toBe(1);
    expect(after.hits - before.hits).toBe(1);
  });

  it("always renders without a key, counted as uncacheable", async () => {
    const cache = new RenderCache();
    const before = renderStats().uncacheable;
    const render = counted("t");
    await cache.render(null, render.run);
    await cache.render(null, render.run);
    expect(render.runs()).toBe(2);
    expect(renderStats().uncacheable - before).toBe(2);
    expect(cache.size().entries).toBe(0);
  });

  it("shares outputs with its run views; a view remembers digests for its run only", async () => {
    const cache = new RenderCache();
    const view = cache.run();
    await view.render("k", () => Promise.resolve("from view"));
    expect(cache.has("k")).toBe(true);
    expect(await cache.render("k", () => Promise.reject(new Error("must not render")))).toBe("from view");

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-render-cache-view-"));
    try {
      await fs.mkdir(path.join(dir, "chart"));
      await fs.writeFile(path.join(dir, "chart", "a.yaml"), "one");
      const first = await view.treeDigest(dir, path.join(dir, "chart"));
      await fs.writeFile(path.join(dir, "chart", "a.yaml"), "two");
      // Same run: the tree is hashed once. A new run (or the cache itself) sees the change.
      expect(await view.treeDigest(dir, path.join(dir, "chart"))).toBe(first);
      expect(await cache.run().treeDigest(dir, path.join(dir, "chart"))).not.toBe(first);
      expect(await cache.treeDigest(dir, path.join(dir, "chart"))).not.toBe(first);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe("content digests", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), "bosun-render-cache-")));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function write(rel: string, text: string | Buffer): Promise<void> {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }

  it("a tree's digest follows its contents and names, not where it is", async () => {
    await write("a/chart/Chart.yaml", "name: web\n");
    await write("a/chart/templates/cm.yaml", "kind: ConfigMap\n");
    await write("b/chart/Chart.yaml", "name: web\n");
    await write("b/chart/templates/cm.yaml", "kind: ConfigMap\n");
    const a = await treeDigest(dir, path.join(dir, "a/chart"));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await treeDigest(dir, path.join(dir, "b/chart"))).toBe(a);
    await write("b/chart/templates/cm.yaml", "kind: ConfigMap \n");
    const changed = await treeDigest(dir, path.join(dir, "b/chart"));
    expect(changed).not.toBe(a);
    await write("b/chart/templates/cm.yaml", "kind: ConfigMap\n");
    await fs.rename(path.join(dir, "b/chart/templates/cm.yaml"), path.join(dir, "b/chart/templates/cm2.yaml"));
    expect(await treeDigest(dir, path.join(dir, "b/chart"))).not.toBe(a);
    await fs.mkdir(path.join(dir, "b/chart/empty"));
    const withEmpty = await treeDigest(dir, path.join(dir, "b/chart"));
    expect(withEmpty).not.toBe(a);
  });

  it("hashes bytes, not text: two binary files that decode to the same UTF-8 differ", async () => {
    await write("x/chart/charts/dep.tgz", Buffer.from([0xff, 0x00]));
    await write("y/chart/charts/dep.tgz", Buffer.from([0xfe, 0x00]));
    expect(Buffer.from([0xff, 0x00]).toString("utf8")).toBe(Buffer.from([0xfe, 0x00]).toString("utf8"));
    expect(await treeDigest(dir, path.join(dir, "x/chart"))).not.toBe(await treeDigest(dir, path.join(dir, "y/chart")));
  });

  it("follows links inside the fleet directory (a change behind the link changes the digest)", async () => {
    await write("shared/helpers.tpl", "{{/* v1 */}}");
    await write("shared-dir/one.yaml", "one");
    await write("chart/Chart.yaml", "name: web\n");
    await fs.mkdir(path.join(dir, "chart/templates"));
    await fs.symlink("../../shared-dir", path.join(dir, "chart/templates/linked"));
    await fs.symlink("../shared/helpers.tpl", path.join(dir, "chart/helpers.tpl"));
    const first = await treeDigest(dir, path.join(dir, "chart"));
    expect(first).not.toBeNull();
    await write("shared/helpers.tpl", "{{/* v2 */}}");
    const second = await treeDigest(dir, path.join(dir, "chart"));
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);
    await write("shared-dir/one.yaml", "uno");
    expect(await treeDigest(dir, path.join(dir, "chart"))).not.toBe(second);
  });

  it("refuses to key a tree with a link out of the fleet directory, a dangling link or a named pipe", async () => {
    const fleet = path.join(dir, "fleet");
    await write("outside.yaml", "secret: elsewhere");
    await write("fleet/chart/Chart.yaml", "name: web\n");
    expect(await treeDigest(fleet, path.join(fleet, "chart"))).not.toBeNull();
    await fs.symlink("../../outside.yaml", path.join(fleet, "chart/out.yaml"));
    expect(await treeDigest(fleet, path.join(fleet, "chart"))).toBeNull();
    await fs.rm(path.join(fleet, "chart/out.yaml"));
    await fs.symlink("nowhere.yaml", path.join(fleet, "chart/dangling.yaml"));
    expect(await treeDigest(fleet, path.join(fleet, "chart"))).toBeNull();
    await fs.rm(path.join(fleet, "chart/dangling.yaml"));
    await execa("mkfifo", [path.join(fleet, "chart/pipe")]);
    // A pipe would hang a reader: refused without opening it for reading.
    expect(await treeDigest(fleet, path.join(fleet, "chart"))).toBeNull();
    await fs.rm(path.join(fleet, "chart/pipe"));
    await fs.symlink("../..", path.join(fleet, "chart/up"));
    expect(await treeDigest(fleet, path.join(fleet, "chart"))).toBeNull();
  });

  it("does not loop on a link cycle", async () => {
    await write("chart/Chart.yaml", "name: web\n");
    await fs.symlink("..", path.join(dir, "chart/self"));
    await fs.symlink(".", path.join(dir, "chart/here"));
    expect(await treeDigest(path.join(dir), path.join(dir, "chart"))).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a tree over the entry bound without hashing it in part", async () => {
    await fs.mkdir(path.join(dir, "big"));
    const names = Array.from({ length: DEFAULT_LIMITS.maxTreeEntries + 1 }, (_, i) => `f${i}`);
    for (let i = 0; i < names.length; i += 500) await Promise.all(names.slice(i, i + 500).map((n) => fs.writeFile(path.join(dir, "big", n), "")));
    expect(await treeDigest(dir, path.join(dir, "big"))).toBeNull();
    await fs.rm(path.join(dir, "big", "f0"));
    expect(await treeDigest(dir, path.join(dir, "big"))).not.toBeNull();
  });

  it("refuses a tree over the byte bound without reading it (a sparse file claiming more)", async () => {
    await write("chart/Chart.yaml", "name: web\n");
    const handle = await fs.open(path.join(dir, "chart/huge.tgz"), "w");
    await handle.truncate(MAX_HASHED_BYTES + 1);
    await handle.close();
    const started = performance.now();
    expect(await treeDigest(dir, path.join(dir, "chart"))).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("a kustomization's digest covers the bases it reaches; a remote resource or a base outside has none", async () => {
    const fleet = path.join(dir, "fleet");
    const overlay = path.join(fleet, "kustomize/overlay");
    await write("fleet/kustomize/base/kustomization.yaml", "resources: [cm.yaml]\n");
    await write("fleet/kustomize/base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
    await write("fleet/kustomize/overlay/kustomization.yaml", "resources: [../base]\nnamePrefix: x-\n");
    await write("fleet/unrelated.yaml", "one");
    const first = await kustomizationDigest(fleet, overlay);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    // Neither the overlay's own tree nor a file outside every kustomization decides the digest alone.
    await write("fleet/unrelated.yaml", "two");
    expect(await kustomizationDigest(fleet, overlay)).toBe(first);
    await write("fleet/kustomize/base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n");
    expect(await kustomizationDigest(fleet, overlay)).not.toBe(first);

    await write("fleet/kustomize/overlay/kustomization.yaml", "resources: [../base, https://github.com/example/repo//deploy?ref=v1]\n");
    expect(await kustomizationDigest(fleet, overlay)).toBeNull();
    await write("outside/kustomization.yaml", "resources: []\n");
    await write("fleet/kustomize/overlay/kustomization.yaml", "resources: [../../../outside]\n");
    expect(await kustomizationDigest(fleet, overlay)).toBeNull();
    await write("fleet/kustomize/overlay/kustomization.yaml", "components: [../base]\n");
    expect(await kustomizationDigest(fleet, overlay)).toMatch(/^[0-9a-f]{64}$/);
    await write("fleet/kustomize/overlay/kustomization.yaml", "resources: [unclosed\n");
    expect(await kustomizationDigest(fleet, overlay)).toBeNull();
  });

  it("a secret stands in a key only as a per-process HMAC", () => {
    const secret = "s3cr3t-value-for-test";
    const digest = secretDigest(secret);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).not.toBe(createHash("sha256").update(secret).digest("hex"));
    expect(secretDigest(secret)).toBe(digest);
    expect(secretDigest(`${secret}x`)).not.toBe(digest);
    expect(renderKey([["token"], digest])).not.toContain(secret);
  });

  it("an executable's identity changes when it is replaced", async () => {
    await write("bin/helm", "#!/bin/sh\necho v1\n");
    const first = await executableIdentity(path.join(dir, "bin/helm"));
    expect(first).toContain(path.join(dir, "bin/helm"));
    await fs.rm(path.join(dir, "bin/helm"));
    await write("bin/helm", "#!/bin/sh\necho v2 longer\n");
    expect(await executableIdentity(path.join(dir, "bin/helm"))).not.toBe(first);
    expect(await executableIdentity(path.join(dir, "bin/none"))).toBe(`missing\0${path.join(dir, "bin/none")}`);
  });
});
