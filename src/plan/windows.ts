/**
 * Maintenance windows: whether an operation may run on a cluster at a given moment. Pure — the moment is
 * a parameter — so the executor, the daemon and tests agree.
 *
 * The rule (spec: `windows`): a cluster selected by at least one `allow` window for an operation may run
 * it only while one of those allow windows is open; any open `deny` window for the operation blocks it.
 * A window opens each time its cron schedule fires, read in its time zone, and stays open for its duration.
 */
import { cronMatches, parseCron, type WallClock } from "../spec/cron.js";
import type { DesiredWindow, WindowOperation } from "../spec/types.js";

const MINUTE_MS = 60_000;

/** Whether an operation may run now, and if not, which window says so. */
export type WindowVerdict =
  | { allowed: true; openWindow?: string }
  | { allowed: false; reason: string };

/**
 * Decides whether `operation` may run on `cluster` at `now`. `windows` is the fleet's list (each carries
 * the clusters it selects).
 */
export function windowVerdict(windows: readonly DesiredWindow[], cluster: string, operation: WindowOperation, now: Date): WindowVerdict {
  const relevant = windows.filter((w) => w.clusters.includes(cluster) && w.operations.includes(operation));
  const deny = relevant.find((w) => w.kind === "deny" && windowOpen(w, now));
  if (deny) return { allowed: false, reason: `deny window ${deny.name} is open ("${deny.schedule}" ${deny.timeZone}, for ${formatMinutes(deny.durationSeconds / 60)})` };
  const allows = relevant.filter((w) => w.kind === "allow");
  if (allows.length === 0) return { allowed: true };
  const open = allows.find((w) => windowOpen(w, now));
  if (open) return { allowed: true, openWindow: open.name };
  const names = allows.map((w) => `${w.name} ("${w.schedule}" ${w.timeZone}, ${formatMinutes(w.durationSeconds / 60)})`).join(", ");
  return { allowed: false, reason: `outside its allow window${allows.length === 1 ? "" : "s"} for ${operation}: ${names}` };
}

/** Whether `window` is open at `now`: its schedule fired, in its time zone, less than its duration ago. */
export function windowOpen(window: DesiredWindow, now: Date): boolean {
  const parsed = parseCron(window.schedule);
  if (!("schedule" in parsed)) return false;
  const minutes = Math.ceil(window.durationSeconds / 60);
  const start = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  const local = localClock(window.timeZone);
  // Walk back minute by minute over the window's duration; a fire inside it means the window is open.
  for (let i = 0; i < minutes; i += 1) {
    if (cronMatches(parsed.schedule, local(new Date(start - i * MINUTE_MS)))) return true;
  }
  return false;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The wall clock of a time zone, as a function of the instant. */
function localClock(timeZone: string): (at: Date) => WallClock {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    minute: "numeric",
    hour: "numeric",
    day: "numeric",
    month: "numeric",
    weekday: "short",
  });
  return (at) => {
    const parts = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
    return {
      minute: Number(parts.minute),
      hour: Number(parts.hour),
      day: Number(parts.day),
      month: Number(parts.month),
      weekday: WEEKDAYS[parts.weekday ?? ""] ?? -1,
    };
  };
}

function formatMinutes(minutes: number): string {
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return minutes > 60 ? `${Math.floor(minutes / 60)}h${minutes % 60}m` : `${minutes}m`;
}

/** How far ahead {@link nextWindowChange} looks: past a weekly schedule, with room for a two-week freeze. */
export const WINDOW_HORIZON_MINUTES = 15 * 24 * 60;

/**
 * The first minute after `now` at which the verdict for `operations` on `cluster` changes (every operation
 * allowed ↔ not), computed from the windows' fire times, or null when it does not change within `horizon`
 * minutes. The daemon schedules its next look at a deferred cluster for that moment (when its window
 * opens) and stops starting steps at the moment a window closes.
 */
export function nextWindowChange(windows: readonly DesiredWindow[], cluster: string, operations: readonly WindowOperation[], now: Date, horizon = WINDOW_HORIZON_MINUTES): Date | null {
  const relevant = windows.filter((w) => w.clusters.includes(cluster) && w.operations.some((o) => operations.includes(o)));
  if (relevant.length === 0) return null;
  const allowed = (at: Date): boolean => operations.every((o) => windowVerdict(relevant, cluster, o, at).allowed);
  const start = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  // Candidate moments: every fire (a window opens) and every fire + duration (it closes) in the horizon.
  const candidates = new Set<number>();
  for (const window of relevant) {
    const parsed = parseCron(window.schedule);
    if (!("schedule" in parsed)) continue;
    const local = localClock(window.timeZone);
    const minutes = Math.ceil(window.durationSeconds / 60);
    for (let i = -minutes; i <= horizon; i += 1) {
      const at = start + i * MINUTE_MS;
      if (!cronMatches(parsed.schedule, local(new Date(at)))) continue;
      if (at > now.getTime()) candidates.add(at);
      const end = at + minutes * MINUTE_MS;
      if (end > now.getTime()) candidates.add(end);
    }
  }
  const current = allowed(now);
  for (const at of [...candidates].sort((a, b) => a - b)) {
    if (allowed(new Date(at)) !== current) return new Date(at);
  }
  return null;
}
