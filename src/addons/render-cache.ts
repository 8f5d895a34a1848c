/**
 * A bounded cache of `helm template` / `kustomize build` outputs, keyed by a content hash of everything the
 * program's output depends on, so that planning an unchanged fleet again (the daemon plans every tick and
 * every drift interval in one long-lived process) runs no helm or kustomize at all.
 *
 * The key (built by `render.ts` with the digests computed here) is a SHA-256 over:
 * - the tool and the identity of its executable (real path, device, inode, size, modification time: a
 *   binary upgraded in place is a different key without running `helm version`);
 * - for a local chart, a digest of the chart directory's files; for a repo chart, the repository URL, the
 *   chart name and the pinned version; for a kustomization, a digest of its directory and of every local
 *   base and component it reaches (kustomize loads files only from inside each kustomization root, so
 *   those trees are all it reads). A kustomization with a remote resource has no key: it is never cached;
 * - for Helm: release name, namespace, `.Capabilities` (Kubernetes version, API versions), the values from
 *   the files and the inline values, and each secret value only as an HMAC under a key that lives in this
 *   process only (never the value in clear, and no plain hash that could be compared against guesses);
 * - the operator's repository allowances (`RepoPolicy`) that decide what may be fetched.
 *
 * Trees are hashed the way the spec loader checks them (`checkTree` in `src/spec/tree.ts`): symlinks are
 * followed when their target is inside the fleet directory (a linked directory once), anything else —
 * a link leading out or nowhere, a named pipe, socket or device — makes the render uncacheable (it then
 * runs as it always did). Reads are bounded: at most `maxTreeEntries` entries and {@link MAX_HASHED_BYTES}
 * bytes for one key, each file opened without blocking and without following a final link, read in
 * chunks into the hash, never held whole. Past a bound the render is uncacheable, never hashed in part.
 *
 * A failed render is never stored (the next plan runs it again). Outputs live in one LRU bounded by
 * entries and by bytes ({@link DEFAULT_RENDER_CACHE_LIMITS}).
 */
import { constants as fsConstants, type Dirent } from "node:fs";
import fs from "node:fs/promises";
import { createHash, createHmac, randomBytes } from "node:crypto";
import path from "node:path";
import { parseSingleYaml } from "../bounded-yaml.js";
import { KUSTOMIZATION_FILES, looksRemote, MAX_KUSTOMIZATION_DEPTH, MAX_KUSTOMIZATIONS } from "../spec/kustomization.js";
import { DEFAULT_LIMITS } from "../spec/limits.js";
import { readRegularFile } from "../bounded-file.js";

/** How large the cache may grow. */
export interface RenderCacheLimits {
  /** Most outputs kept. */
  maxEntries: number;
  /** Most bytes of outputs kept (each output counted at two bytes per UTF-16 code unit, V8's upper bound). */
  maxBytes: number;
}

/**
 * The defaults. A fleet revision has one distinct render per add-on and distinct `.Capabilities` (Kubernetes
 * version and API groups), usually a few dozen; 256 entries hold that for the revision being planned, the
 * previous one and a pull request or two, so that switching back and forth between them costs nothing.
 * Typical renders are 10 KB–1 MB; 64 MiB keeps such a working set while staying a small part of a daemon's
 * heap, and is the most one render may print (`helm template`/`kustomize build` buffer limit), so even the
 * largest render can be kept — alone.
 */
export const DEFAULT_RENDER_CACHE_LIMITS: Readonly<RenderCacheLimits> = { maxEntries: 256, maxBytes: 64 * 1024 * 1024 };

/** Most bytes of files hashed for one key (a chart with its packaged dependencies, or a kustomization and its bases). */
export const MAX_HASHED_BYTES = 64 * 1024 * 1024;

/** The two renderers. */
export type RenderTool = "helm" | "kustomize";

/** Counters of this process's renders, for metrics. */
export interface RenderStats {
  /** Renders served from a cache (stored, or joined while another caller's identical render ran). */
  hits: number;
  /** Renders looked up and not found: each ran its program. */
  misses: number;
  /** Renders that could not be keyed (a remote kustomize resource, a tree over the bounds): run uncached. */
  uncacheable: number;
  /** helm and kustomize processes started for renders (cached or not: apply renders count too). */
  spawns: { helm: number; kustomize: number };
  /** Outputs dropped to stay within the bounds, across every cache of the process. */
  evictions: number;
  /** What the process-wide cache ({@link processRenderCache}) holds now (zero before it is first used). */
  entries: number;
  bytes: number;
}

const counters = { hits: 0, misses: 0, uncacheable: 0, evictions: 0, spawns: { helm: 0, kustomize: 0 } };

/** A snapshot of this process's render counters. */
export function renderStats(): RenderStats {
  const held = processCache?.size() ?? { entries: 0, bytes: 0 };
  return { hits: counters.hits, misses: counters.misses, uncacheable: counters.uncacheable, evictions: counters.evictions, spawns: { ...counters.spawns }, ...held };
}

/** Counts one helm or kustomize process started for a render (called by `render.ts` right before it starts one). */
export function countRenderSpawn(tool: RenderTool): void {
  counters.spawns[tool] += 1;
}

/** The outputs themselves: a `Map` kept in use order (oldest first), bounded by entries and bytes. */
class LruStore {
  private readonly entries = new Map<string, string>();
  private bytes = 0;

  constructor(readonly limits: Readonly<RenderCacheLimits>) {}

  get(key: string): string | undefined {
    const text = this.entries.get(key);
    if (text === undefined) return undefined;
    // Re-inserting moves the key to the end: the Map's order is the use order.
    this.entries.delete(key);
    this.entries.set(key, text);
    return text;
  }

  set(key: string, text: string): void {
    const cost = charge(text);
    // An output larger than the whole cache is not kept (it would evict everything and then itself).
    if (cost > this.limits.maxBytes || this.limits.maxEntries < 1) return;
    this.delete(key);
    this.entries.set(key, text);
    this.bytes += cost;
    for (const [oldest, oldText] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= charge(oldText);
      counters.evictions += 1;
    }
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  delete(key: string): void {
    const text = this.entries.get(key);
    if (text === undefined) return;
    this.entries.delete(key);
    this.bytes -= charge(text);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}

/** Bytes an output is charged: V8 keeps a string in one or two bytes per code unit; the upper bound. */
function charge(text: string): number {
  return text.length * 2;
}

/**
 * Renders by content. One instance for the whole process ({@link processRenderCache}) lets the daemon plan
 * an unchanged fleet without starting a program; `observeFleet` takes a {@link RenderCache.run} view of it
 * for each plan, which also remembers, for that plan only, the digests of trees and executables it
 * computed (many clusters render the same chart; the files are hashed once per plan, not once per cluster).
 */
export class RenderCache {
  // Assigned again by `run()` for a view (private, so only this class can share them).
  private store: LruStore;
  /** Renders running now, joined by identical requests; each leaves when it settles (bounded by the renders in flight). */
  private inflight: Map<string, Promise<string>>;
  /** Per-plan digests (only in a {@link run} view; bounded by the trees and tools one plan names). */
  private memo: Map<string, Promise<string | null>> | undefined;

  /** A cache of its own, with `limits` (default {@link DEFAULT_RENDER_CACHE_LIMITS}). */
  constructor(limits: Partial<RenderCacheLimits> = {}) {
    this.store = new LruStore({ ...DEFAULT_RENDER_CACHE_LIMITS, ...limits });
    this.inflight = new Map();
    this.memo = undefined;
  }

  /** A view for one plan: the same outputs, plus digests remembered until the view is dropped. */
  run(): RenderCache {
    const view = new RenderCache({ maxEntries: 0, maxBytes: 0 });
    view.store = this.store;
    view.inflight = this.inflight;
    view.memo = new Map();
    return view;
  }

  /** The bounds of this cache. */
  get limits(): Readonly<RenderCacheLimits> {
    return this.store.limits;
  }

  /** Entries and bytes held now. */
  size(): { entries: number; bytes: number } {
    return this.store.size();
  }

  /** Whether an output is stored under `key` (does not count as a use). */
  has(key: string): boolean {
    return this.store.has(key);
  }

  /** Drops every output. */
  clear(): void {
    this.store.clear();
  }

  /**
   * The output for `key`: stored, or being rendered by an identical request, or rendered now by `render`
   * and stored when it succeeds. A null key (an input that cannot be hashed) always renders, uncached.
   */
  async render(key: string | null, render: () => Promise<string>): Promise<string> {
    if (key === null) {
      counters.uncacheable += 1;
      return render();
    }
    const stored = this.store.get(key);
    if (stored !== undefined) {
      counters.hits += 1;
      return stored;
    }
    const running = this.inflight.get(key);
    if (running) {
      counters.hits += 1;
      return running;
    }
    counters.misses += 1;
    const pending = render();
    this.inflight.set(key, pending);
    try {
      const text = await pending;
      this.store.set(key, text);
      return text;
    } finally {
      // A failure is not stored: the next request renders again.
      this.inflight.delete(key);
    }
  }

  /** {@link treeDigest}, remembered for the plan in a run view. */
  async treeDigest(fleetDir: string, dir: string): Promise<string | null> {
    return this.remember(`tree\0${fleetDir}\0${dir}`, () => treeDigest(fleetDir, dir));
  }

  /** {@link kustomizationDigest}, remembered for the plan in a run view. */
  async kustomizationDigest(fleetDir: string, dir: string): Promise<string | null> {
    return this.remember(`kustomize\0${fleetDir}\0${dir}`, () => kustomizationDigest(fleetDir, dir));
  }

  /** {@link executableIdentity}, remembered for the plan in a run view. */
  async executableIdentity(file: string): Promise<string> {
    return (await this.remember(`exe\0${file}`, () => executableIdentity(file))) ?? file;
  }

  private async remember(key: string, compute: () => Promise<string | null>): Promise<string | null> {
    if (!this.memo) return compute();
    let pending = this.memo.get(key);
    if (!pending) {
      pending = compute();
      this.memo.set(key, pending);
    }
    return pending;
  }
}

let processCache: RenderCache | undefined;

/** The one render cache of this process (created on first use, with the default limits): the daemon's. */
export function processRenderCache(): RenderCache {
  processCache ??= new RenderCache();
  return processCache;
}

/** The cache key of `inputs` (any JSON value; it must not hold a secret in clear — see {@link secretDigest}). */
export function renderKey(inputs: unknown): string {
  return createHash("sha256").update(JSON.stringify(inputs)).digest("hex");
}

/** Key of the HMAC below: random per process, never stored or shown. */
const SECRET_KEY = randomBytes(32);

/**
 * What stands for a secret value in a key: an HMAC under a per-process random key, so that neither the
 * key nor the text it is hashed from holds the value, nor a plain hash one could test guesses against.
 */
export function secretDigest(value: string): string {
  return createHmac("sha256", SECRET_KEY).update(value).digest("hex");
}

/**
 * Identity of an executable: its real path, device, inode, size and modification time (a binary replaced
 * or upgraded in place is another identity). A bare name is looked up on PATH as the process would; a
 * program that cannot be found is its name (the render fails, and a failure is never stored).
 */
export async function executableIdentity(file: string): Promise<string> {
  const candidates = file.includes("/") ? [file] : (process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== "").map((d) => path.join(d, file));
  for (const candidate of candidates) {
    try {
      const real = await fs.realpath(candidate);
      const stat = await fs.stat(real);
      if (!stat.isFile()) continue;
      return `${real}\0${stat.dev}\0${stat.ino}\0${stat.size}\0${stat.mtimeMs}`;
    } catch {
      // Not there: the next PATH entry.
    }
  }
  return `missing\0${file}`;
}

/** What is left of one key's reading budget. */
interface Budget {
  entries: number;
  bytes: number;
}

function newBudget(): Budget {
  return { entries: DEFAULT_LIMITS.maxTreeEntries, bytes: MAX_HASHED_BYTES };
}

/**
 * A digest of the directory `dir` (absolute, inside `fleetDir`) and everything under it — names, kinds,
 * contents, and where links lead — or null when it cannot be hashed safely within the bounds.
 */
export async function treeDigest(fleetDir: string, dir: string): Promise<string | null> {
  const root = await fs.realpath(fleetDir).catch(() => null);
  if (root === null) return null;
  const hash = createHash("sha256");
  return (await hashTree(root, dir, hash, newBudget())) ? hash.digest("hex") : null;
}

/**
 * Hashes the tree at `dir` into `hash`, walked as `checkTree` walks it: entries sorted by name, a link
 * followed when its target is inside `root` (a directory once). False when it cannot be hashed: a link
 * out of `root` or nowhere, something that is not a file, directory or link, an unreadable directory or
 * file, or a bound passed.
 */
async function hashTree(root: string, dir: string, hash: ReturnType<typeof createHash>, budget: Budget): Promise<boolean> {
  const top = await fs.realpath(dir).catch(() => null);
  if (top === null || !isInside(root, top)) return false;
  const visited = new Set<string>([top]);
  // Each directory with the name it is seen under (relative to `top`): a linked directory's content is
  // hashed under the link's name, as helm and kustomize read it.
  const pending: { full: string; name: string }[] = [{ full: top, name: "." }];
  const record = (...fields: (string | number)[]): void => {
    hash.update(`${fields.join("\0")}\n`);
  };
  while (pending.length > 0) {
    const current = pending.shift();
    if (!current) break;
    let entries: Dirent[];
    try {
      entries = await fs.readdir(current.full, { withFileTypes: true });
    } catch {
      return false;
    }
    budget.entries -= entries.length;
    if (budget.entries < 0) return false;
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    record("D", current.name, entries.length);
    for (const entry of entries) {
      const full = path.join(current.full, entry.name);
      const name = path.posix.join(current.name, entry.name);
      if (entry.isDirectory()) {
        record("d", name);
        pending.push({ full, name });
      } else if (entry.isFile()) {
        const digest = await hashFile(full, budget);
        if (digest === null) return false;
        record("f", name, digest);
      } else if (entry.isSymbolicLink()) {
        const target = await fs.realpath(full).catch(() => undefined);
        if (target === undefined || !isInside(root, target)) return false;
        const stat = await fs.stat(target).catch(() => undefined);
        if (stat === undefined) return false;
        record("l", name, path.relative(root, target));
        if (stat.isDirectory()) {
          if (!visited.has(target)) {
            visited.add(target);
            pending.push({ full: target, name });
          }
        } else if (stat.isFile()) {
          const digest = await hashFile(target, budget);
          if (digest === null) return false;
          record("f", name, digest);
        } else return false;
      } else return false;
    }
  }
  return true;
}

/** Chunk size of file reads: memory for hashing a file is this, whatever the file's size. */
const CHUNK_BYTES = 64 * 1024;

/**
 * SHA-256 of a regular file's bytes, charged to `budget`; null for anything else or past the budget. Opened
 * like `readRegularFile` (`src/bounded-file.ts`) opens — without blocking, without following a final link,
 * refused unless a regular file, never more read than allowed whatever the size claims — but read as bytes
 * in chunks: a chart's packaged dependencies are binary (a UTF-8 decode would make distinct bytes equal),
 * and a file is never held whole.
 */
async function hashFile(file: string, budget: Budget): Promise<string | null> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size > budget.bytes) return null;
    const hash = createHash("sha256");
    const buffer = Buffer.alloc(CHUNK_BYTES);
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      // The file may grow while it is read: the budget bounds what is read, not what stat said.
      budget.bytes -= bytesRead;
      if (budget.bytes < 0) return null;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return `${position}:${hash.digest("hex")}`;
  } catch {
    return null;
  } finally {
    await handle.close();
  }
}

/**
 * A digest of a kustomization directory and of every local kustomization it reaches through `resources`,
 * `bases` and `components` (walked breadth-first, at most {@link MAX_KUSTOMIZATIONS}, nested at most
 * {@link MAX_KUSTOMIZATION_DEPTH} deep, as the spec loader allows), each tree hashed whole. Null when one of
 * them names a remote resource (its content is not in the fleet), leaves the fleet directory, or a bound
 * is passed. Every file kustomize reads is inside one of these trees: bosun builds with
 * `LoadRestrictionsRootOnly`.
 */
export async function kustomizationDigest(fleetDir: string, dir: string): Promise<string | null> {
  const root = await fs.realpath(fleetDir).catch(() => null);
  const top = await fs.realpath(dir).catch(() => null);
  if (root === null || top === null || !isInside(root, top)) return null;
  const hash = createHash("sha256");
  const budget = newBudget();
  const seen = new Set<string>([top]);
  const pending: { dir: string; depth: number }[] = [{ dir: top, depth: 0 }];
  while (pending.length > 0) {
    const current = pending.shift();
    if (!current) break;
    if (current.depth > MAX_KUSTOMIZATION_DEPTH) return null;
    hash.update(`K\0${current.depth}\n`);
    if (!(await hashTree(root, current.dir, hash, budget))) return null;
    const refs = await kustomizationRefs(current.dir);
    if (refs === null) return null;
    for (const ref of refs) {
      if (looksRemote(ref) || path.isAbsolute(ref)) return null;
      const target = await fs.realpath(path.resolve(current.dir, ref)).catch(() => undefined);
      // A missing entry fails the build (and a failure is not stored); keyed all the same.
      if (target === undefined) continue;
      if (!isInside(root, target)) return null;
      const stat = await fs.stat(target).catch(() => undefined);
      if (!stat?.isDirectory() || seen.has(target)) continue;
      if (seen.size >= MAX_KUSTOMIZATIONS) return null;
      seen.add(target);
      pending.push({ dir: target, depth: current.depth + 1 });
    }
  }
  return hash.digest("hex");
}

/**
 * The `resources`, `bases` and `components` entries of the kustomization in `dir` (kustomize's spelling
 * only: the spec loader refuses every other), or null when it cannot be read or parsed. A directory without a
 * kustomization file has none (kustomize fails on it, and a failure is not stored).
 */
async function kustomizationRefs(dir: string): Promise<string[] | null> {
  for (const name of KUSTOMIZATION_FILES) {
    const read = await readRegularFile(path.join(dir, name), DEFAULT_LIMITS.maxFileBytes);
    if (!read.ok) {
      if (read.problem === "missing") continue;
      return null;
    }
    // What cannot be read here is not guessed at: kustomize may still read it, so no key.
    const parsed = parseSingleYaml(read.text);
    if (!parsed.ok) return null;
    const value = parsed.value;
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    const refs: string[] = [];
    for (const field of ["resources", "bases", "components"]) {
      const list: unknown = Object.hasOwn(value, field) ? (value as Record<string, unknown>)[field] : undefined;
      if (Array.isArray(list)) for (const item of list) if (typeof item === "string") refs.push(item);
    }
    return refs;
  }
  return [];
}

/** Whether `real` (a realpath) is `root` or inside it. */
function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root + path.sep);
}
