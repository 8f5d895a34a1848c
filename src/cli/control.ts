/**
 * `bosun approve`, `bosun pause` and `bosun resume`: the operator's requests to a running daemon
 * (`bosun run`), through its JSON API with a bearer token from `BOSUN_API_TOKEN` or `--token-file`.
 * Exit 0 when the daemon recorded the request, 1 with the daemon's error (a wave that is not manual, an
 * unknown cluster, a refused token) or when it cannot be reached, 2 for a usage error (a bad URL, a
 * missing flag, no token). The token is never printed, not even in an error.
 */
import os from "node:os";
import { Command } from "commander";
import { BosunError, UsageError } from "../errors.js";
import type { CommandContext } from "./context.js";
import { checkReadableFile, readFlagFile } from "./files.js";
import { print } from "./output.js";

/** The largest token file read. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;
/** How long one request may take: the daemon answers from memory and one state write. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The longest error text quoted from the daemon. */
const MAX_ERROR_CHARS = 2_000;

/** The daemon refused the request, or could not be reached. Exit code 1. */
export class ControlRequestError extends BosunError {
  constructor(message: string, options: { status?: number; cause?: unknown }) {
    super(message, {
      reason: options.status === 401 ? "Unauthorized" : options.status === undefined ? "Unreachable" : "InvalidInput",
      cause: options.cause,
      retryable: options.status === undefined || options.status >= 500,
    });
  }
}

interface ServerFlags {
  server?: string;
  tokenFile?: string;
  by?: string;
}

interface TargetFlags extends ServerFlags {
  cluster?: string;
  wave?: string;
  reason?: string;
}

interface ApproveFlags extends ServerFlags {
  wave?: string;
  revision?: string;
}

/** A checked connection to the daemon: its base URL and the token. */
interface Connection {
  base: URL;
  token: string;
  by: string;
}

function withServerFlags(command: Command): Command {
  return command
    .option("--server <url>", "the daemon's URL (bosun run --listen), e.g. http://127.0.0.1:8080")
    .option("--token-file <file>", "read the API token from this file instead of BOSUN_API_TOKEN")
    .option("--by <name>", "who is asking, recorded with the request (default: user@host)");
}

/** Builds the `approve` command. */
export function approveCommand(context: CommandContext): Command {
  return withServerFlags(new Command("approve").description("approve a revision for a manual wave of a running daemon"))
    .option("--wave <wave>", "the manual wave")
    .option("--revision <sha>", "the commit to approve (full, or a unique prefix of at least 7)")
    .action(async (flags: ApproveFlags) => {
      const connection = await connectionOf(flags);
      const wave = required(flags.wave, "--wave");
      const revision = required(flags.revision, "--revision");
      if (!/^[0-9a-fA-F]{7,64}$/.test(revision)) throw new UsageError("--revision must be a commit id (7 to 64 hexadecimal digits)");
      if (context.checkOnly) return;
      const approval = await send(connection, "POST", ["approvals"], { wave, revision, by: connection.by });
      print(`approved ${short(textOf(approval, "revision") ?? revision)} for wave ${wave} (by ${textOf(approval, "by") ?? connection.by})\n`);
      context.setExitCode(0);
    });
}

/** Builds the `pause` command. */
export function pauseCommand(context: CommandContext): Command {
  return withServerFlags(new Command("pause").description("pause a cluster or a wave of a running daemon: no new step starts there until resumed"))
    .option("--cluster <name>", "pause this cluster")
    .option("--wave <wave>", "pause this wave")
    .option("--reason <text>", "why, shown on the status page")
    .action(async (flags: TargetFlags) => {
      const connection = await connectionOf(flags);
      const target = targetOf(flags);
      if (context.checkOnly) return;
      await send(connection, "POST", ["pauses"], { scope: target.scope, name: target.name, by: connection.by, ...(flags.reason === undefined ? {} : { reason: flags.reason }) });
      print(`paused ${target.scope} ${target.name}\n`);
      context.setExitCode(0);
    });
}

/** Builds the `resume` command. */
export function resumeCommand(context: CommandContext): Command {
  return withServerFlags(new Command("resume").description("resume a paused cluster or wave (or a halted wave) of a running daemon"))
    .option("--cluster <name>", "resume this cluster")
    .option("--wave <wave>", "resume this wave (lifts a pause and a halt)")
    .action(async (flags: TargetFlags) => {
      const connection = await connectionOf(flags);
      const target = targetOf(flags);
      if (context.checkOnly) return;
      await send(connection, "DELETE", ["pauses", target.scope, target.name]);
      print(`resumed ${target.scope} ${target.name}\n`);
      context.setExitCode(0);
    });
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

function targetOf(flags: TargetFlags): { scope: "cluster" | "wave"; name: string } {
  if ((flags.cluster === undefined) === (flags.wave === undefined)) throw new UsageError("give exactly one of --cluster or --wave");
  return flags.cluster !== undefined ? { scope: "cluster", name: required(flags.cluster, "--cluster") } : { scope: "wave", name: required(flags.wave, "--wave") };
}

/** Checks `--server` and finds the token; every problem is a usage error. */
async function connectionOf(flags: ServerFlags): Promise<Connection> {
  const server = required(flags.server, "--server");
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new UsageError(`--server ${JSON.stringify(server)} is not a URL (for example http://127.0.0.1:8080)`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") throw new UsageError("--server must be an http:// or https:// URL");
  if (base.username !== "" || base.password !== "") throw new UsageError("--server must not carry credentials: give the token in BOSUN_API_TOKEN or --token-file");
  if (base.search !== "" || base.hash !== "") throw new UsageError("--server must not have a query or a fragment");
  if (!base.pathname.endsWith("/")) base.pathname = `${base.pathname}/`;
  const token = await tokenOf(flags);
  const by = flags.by ?? `${safeUser()}@${os.hostname()}`;
  return { base, token, by };
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return "unknown";
  }
}

async function tokenOf(flags: ServerFlags): Promise<string> {
  if (flags.tokenFile !== undefined) {
    await checkReadableFile("--token-file", flags.tokenFile, MAX_TOKEN_FILE_BYTES);
    const words = (await readFlagFile("--token-file", flags.tokenFile))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const [token, ...more] = words;
    if (token === undefined || more.length > 0 || /\s/.test(token)) throw new UsageError(`--token-file ${JSON.stringify(flags.tokenFile)}: expected one token on one line`);
    return token;
  }
  const token = process.env.BOSUN_API_TOKEN?.trim() ?? "";
  if (token === "") throw new UsageError("no API token: set BOSUN_API_TOKEN or pass --token-file");
  return token;
}

/** Sends one API request; the daemon's `{error}` becomes a `ControlRequestError`. */
async function send(connection: Connection, method: "POST" | "DELETE", path: string[], body?: Record<string, string>): Promise<unknown> {
  const url = new URL(`api/v1/${path.map((p) => encodeURIComponent(p)).join("/")}`, connection.base);
  const shown = `${method} ${url.origin}${url.pathname}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${connection.token}`,
        accept: "application/json",
        "x-bosun-by": connection.by,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: "error",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ControlRequestError(`${shown}: cannot reach the daemon: ${causeText(error)}`, { cause: error });
  }
  const text = await response.text();
  let value: unknown;
  try {
    value = text === "" ? {} : JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!response.ok) {
    const message = textOf(value, "error") ?? (text.slice(0, MAX_ERROR_CHARS) || response.statusText);
    throw new ControlRequestError(`${shown}: ${response.status}: ${message.slice(0, MAX_ERROR_CHARS)}`, { status: response.status });
  }
  return value;
}

function causeText(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === "string") return cause.code;
  return error instanceof Error ? error.message : String(error);
}

function textOf(value: unknown, key: string): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === "string" ? field : undefined;
}

function short(revision: string): string {
  return revision.slice(0, 7);
}
