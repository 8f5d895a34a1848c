/**
 * The daemon's logger: JSON lines for log collectors, or one readable line per entry for a person at a
 * terminal — both from the same pino logger, so what is logged never depends on the format.
 *
 * Conventions every part of the daemon follows:
 * - One child logger per scope, carrying the scope's fields: `cluster` (the fleet cluster's name), `wave`
 *   (the rollout wave's index), `step` (the plan step id), `revision` (the fleet repository's commit).
 *   {@link scopedLogger} builds them, so the field names are spelled once. A log collector can then
 *   select every line of one cluster or one revision without parsing messages.
 * - Messages are sentences bosun composed; a value that can carry credentials is never logged. As a last
 *   line of defence, any field named token, password, secret or authorization (or ending in one of those
 *   words: `gitToken`, `webhookSecret`), at any depth — in a call's fields and a child's bindings alike —
 *   is written as `[redacted]`. Message text is not searched: never put a credential in one.
 * - Text mode escapes every control character (newlines, escape sequences) of what it prints, so one entry
 *   is one line and a message quoting a hostile string cannot forge a log line or drive the terminal. JSON
 *   mode needs no such care: JSON strings escape control characters already.
 *
 * Text mode formats in the process (pino-pretty's formatter, written synchronously), not in a worker
 * thread: a daemon that is shutting down must not lose its last lines to a thread that was still busy.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import { prettyFactory } from "pino-pretty";
import { InvalidInputError } from "../errors.js";

/** The two log formats of `--log-format`. */
export type LogFormat = "json" | "text";

/** Every log format, for validating `--log-format` / BOSUN_LOG_FORMAT. */
export const LOG_FORMATS: readonly LogFormat[] = ["json", "text"];

/** The levels `level` accepts, least to most verbose of what they drop. */
export const LOG_LEVELS: readonly string[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** How to build the daemon's logger. */
export interface LoggerOptions {
  format: LogFormat;
  /** The lowest level written (default `info`); one of {@link LOG_LEVELS}. */
  level?: string;
  /**
   * Where lines go: a stream (tests capture output with one) or a file descriptor (default 1, stdout),
   * written synchronously so nothing is lost when the process exits.
   */
  destination?: NodeJS.WritableStream | number;
}

/** The fields a scoped child logger carries (see the module's conventions). */
export interface LogScope {
  cluster?: string;
  wave?: number;
  step?: string;
  revision?: string;
}

/** What a redacted value is written as. */
export const REDACTED = "[redacted]";

const SENSITIVE_WORDS = ["token", "password", "secret", "authorization"];
/** Deepest nesting redaction walks; below it a value is replaced whole (nothing bosun logs is that deep). */
const MAX_DEPTH = 8;

/** True when a field of this name holds a credential: its name is, or ends with, a sensitive word. */
export function isSensitiveField(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_WORDS.some((word) => lower === word || lower.endsWith(word));
}

/** A copy of `value` with every sensitive field's value replaced by {@link REDACTED}, at any depth. */
export function redactFields(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactFields(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] = isSensitiveField(key) ? REDACTED : redactFields(field, depth + 1);
  }
  return out;
}

/** `text` when `stream` is a terminal (a person reads it), else `json` (a collector reads it). */
export function defaultLogFormat(stream: { isTTY?: boolean }): LogFormat {
  return stream.isTTY === true ? "text" : "json";
}

/**
 * `text` with every control character but none written as a visible escape: `\n`, `\t`, `\r`, `\u001b`…
 * (C0, DEL and C1), so the result is one line whatever it quotes.
 */
export function escapeControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** Builds the daemon's logger (see the module's conventions). */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? "info";
  if (!LOG_LEVELS.includes(level)) {
    throw new InvalidInputError(`unknown log level "${level}": use one of ${LOG_LEVELS.join(", ")}`);
  }
  if (!LOG_FORMATS.includes(options.format)) {
    throw new InvalidInputError(`unknown log format "${options.format as string}": use json or text`);
  }
  const sink = sinkOf(options.destination ?? 1);
  const stream = options.format === "text" ? textStream(sink) : jsonStream(sink);
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        // Level names, not pino's numbers: a person grepping the JSON writes `"level":"error"`.
        level: (label) => ({ level: label }),
      },
      serializers: { err: pino.stdSerializers.err },
    },
    stream,
  );
}

/** A child of `logger` carrying the scope's fields (only those given). */
export function scopedLogger(logger: Logger, scope: LogScope): Logger {
  const bindings: Record<string, string | number> = {};
  if (scope.cluster !== undefined) bindings.cluster = scope.cluster;
  if (scope.wave !== undefined) bindings.wave = scope.wave;
  if (scope.step !== undefined) bindings.step = scope.step;
  if (scope.revision !== undefined) bindings.revision = scope.revision;
  return logger.child(bindings);
}

/** Where JSON lines are written: the stream itself, or a synchronous writer of the file descriptor. */
function sinkOf(destination: NodeJS.WritableStream | number): DestinationStream {
  if (typeof destination === "number") return pino.destination({ dest: destination, sync: true });
  return destination;
}

/**
 * Redaction happens on the finished line, where everything is: pino applies its formatters to the fields
 * of a call but not to a child logger's bindings, and serializes errors after the formatters ran.
 */
function redactLine(line: string): Record<string, unknown> {
  return redactFields(JSON.parse(line)) as Record<string, unknown>;
}

/** A stream that takes pino's JSON lines (one whole line per call) and writes each, redacted, to `sink`. */
function jsonStream(sink: DestinationStream): DestinationStream {
  return {
    write(line: string): void {
      sink.write(`${JSON.stringify(redactLine(line))}\n`);
    },
  };
}

/**
 * A stream that takes pino's JSON lines (pino writes one whole line per call) and writes each, formatted
 * and escaped, as one readable line to `sink` before the call returns.
 */
function textStream(sink: DestinationStream): DestinationStream {
  // Errors print as one JSON field like any other (pino-pretty would spread their stacks over lines).
  const pretty = prettyFactory({ colorize: false, singleLine: true, errorLikeObjectKeys: [], translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l", ignore: "pid,hostname" });
  return {
    write(line: string): void {
      // The message is printed as it is, so it is escaped first (pino-pretty would drop some control
      // characters silently, and keep newlines); the other fields are printed as JSON, escaped already.
      // The whole line is escaped once more for what JSON leaves alone (DEL, C1).
      const entry = redactLine(line);
      if (typeof entry.msg === "string") entry.msg = escapeControlCharacters(entry.msg);
      const formatted = pretty(entry);
      if (!formatted) return;
      sink.write(`${escapeControlCharacters(formatted.replace(/\r?\n$/, ""))}\n`);
    },
  };
}
