/**
 * When a cron schedule fires, in UTC — the time zone kube-controller-manager evaluates a CronJob without
 * `timeZone` in on a standard control plane. Used to tell whether the last successful backup is older
 * than the schedule allows. Pure: the times to look between are parameters.
 */
import { cronDayMatches, cronMatches, type CronSchedule, type WallClock } from "../spec/cron.js";

const MINUTE_MS = 60_000;
/** How far back a search looks at most; a schedule that fires less than once a year is never "stale". */
const MAX_SPAN_MS = 366 * 24 * 60 * MINUTE_MS;

/** Whether `schedule` fires at the start of the UTC minute `at`. */
export function firesAt(schedule: CronSchedule, at: Date): boolean {
  return cronMatches(schedule, utcClock(at));
}

function utcClock(at: Date): WallClock {
  return { minute: at.getUTCMinutes(), hour: at.getUTCHours(), day: at.getUTCDate(), month: at.getUTCMonth() + 1, weekday: at.getUTCDay() };
}

/**
 * Counts the times `schedule` fired strictly after `after` and at or before `until`, stopping at `limit`.
 * Skips whole hours and days that cannot match, so even a year's span is cheap.
 */
export function countFires(schedule: CronSchedule, after: Date, until: Date, limit: number): number {
  const end = Math.min(until.getTime(), after.getTime() + MAX_SPAN_MS);
  let t = Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  let count = 0;
  while (t <= end && count < limit) {
    const at = new Date(t);
    if (!schedule.months.includes(at.getUTCMonth() + 1) || !cronDayMatches(schedule, utcClock(at))) {
      t = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1);
      continue;
    }
    if (!schedule.hours.includes(at.getUTCHours())) {
      t = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), at.getUTCHours() + 1);
      continue;
    }
    if (firesAt(schedule, at)) count += 1;
    t += MINUTE_MS;
  }
  return count;
}
