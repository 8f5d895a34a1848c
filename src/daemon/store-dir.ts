/**
 * The single-machine state store: one JSON file per key in a directory (`--state DIR`, default
 * `<bosun cache>/daemon`). Writes go to a temporary file renamed over the old one, so a crash leaves the
 * old document or the new one, never half of either. Versions are a counter inside the file; the
 * compare-and-swap is exact within one process (the daemon serialises writes per key) and refuses a
 * second daemon on the same directory through the version it finds.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { BosunError, asError } from "../errors.js";
import { StateConflictError, type StateStore, type Versioned } from "./state.js";

/** The largest state file read: documents hold a few hundred approvals and a drift diff at most. */
export const MAX_STATE_FILE_BYTES = 8 * 1024 * 1024;

const KEY = /^[a-z0-9]([-a-z0-9]{0,251}[a-z0-9])?$/;

interface StoredFile {
  version: number;
  value: unknown;
}

/** A {@link StateStore} over a local directory (created when missing). */
export class DirectoryStateStore implements StateStore {
  readonly description: string;
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {
    this.description = `directory ${dir}`;
  }

  async read(key: string): Promise<Versioned<unknown> | null> {
    const stored = await this.load(key);
    return stored === null ? null : { value: stored.value, version: String(stored.version) };
  }

  async write(key: string, value: unknown, version: string | null): Promise<string> {
    // Writes of one key are serialised, so the version check and the rename are one step for this process.
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const stored = await this.load(key);
      const current = stored === null ? null : String(stored.version);
      if (current !== version) throw new StateConflictError(key);
      const written = (stored?.version ?? 0) + 1;
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      const file = this.file(key);
      const temporary = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temporary, `${JSON.stringify({ version: written, value } satisfies StoredFile)}\n`, { mode: 0o600 });
      await fs.rename(temporary, file);
      return String(written);
    });
    this.chains.set(key, next);
    return next;
  }

  private file(key: string): string {
    if (!KEY.test(key)) throw new BosunError(`state key ${JSON.stringify(key)} is not a DNS-1123 name`, { reason: "Internal" });
    return path.join(this.dir, `${key}.json`);
  }

  private async load(key: string): Promise<StoredFile | null> {
    const file = this.file(key);
    let text: string;
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) throw new BosunError(`state file ${file} is not a regular file`, { reason: "InvalidState" });
      if (stat.size > MAX_STATE_FILE_BYTES) throw new BosunError(`state file ${file} is larger than ${MAX_STATE_FILE_BYTES} bytes`, { reason: "InvalidState" });
      text = await fs.readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new BosunError(`state file ${file} is not JSON: ${asError(error).message}`, { reason: "InvalidState" });
    }
    const version = (parsed as { version?: unknown } | null)?.version;
    if (typeof version !== "number" || !Number.isSafeInteger(version)) throw new BosunError(`state file ${file} has no version`, { reason: "InvalidState" });
    return { version, value: (parsed as StoredFile).value };
  }
}
