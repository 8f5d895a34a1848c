/**
 * Abandoned private helm homes (a process killed mid-pull leaves one, with a registry login in it) are
 * removed once no pull can still use them; nothing else is: not a fresh home, not a symlink's target.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sweepAbandonedHomes } from "../../../src/source/chart-oci.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

describe("sweepAbandonedHomes", () => {
  it("removes homes older than any pull, keeps fresh ones, and never follows a symlink", async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), "bosun-sweep-"));
    dirs.push(root);
    const homes = path.join(root, "helm-homes");
    const victim = path.join(root, "victim");
    await fs.mkdir(path.join(homes, "home-old", "config"), { recursive: true });
    await fs.writeFile(path.join(homes, "home-old", "config", "registry.json"), "{}");
    await fs.mkdir(path.join(homes, "home-fresh"), { recursive: true });
    await fs.mkdir(victim);
    await fs.writeFile(path.join(victim, "keep"), "x");
    await fs.symlink(victim, path.join(homes, "home-link"));
    const hourAgo = new Date(Date.now() - 60 * 60_000);
    await fs.utimes(path.join(homes, "home-old"), hourAgo, hourAgo);
    await fs.lutimes(path.join(homes, "home-link"), hourAgo, hourAgo);
    await sweepAbandonedHomes(homes);
    expect((await fs.readdir(homes)).sort()).toEqual(["home-fresh", "home-link"]);
    expect(await fs.readdir(victim)).toEqual(["keep"]);
  });
});
