/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week), the dialect of Kubernetes
 * CronJobs, which is where backup schedules end up, and of maintenance windows. Parsed into explicit value
 * sets so a schedule that can never fire (`0 0 31 2 *`) is caught when the spec is read, not on the night it
 * was meant to run.
 */

/** A parsed schedule: the values each field allows. */
export interface CronSchedule {
  minutes: readonly number[];
  hours: readonly number[];
  daysOfMonth: readonly number[];
  months: readonly number[];
  /** 0 is Sunday; a written 7 is read as 0. */
  daysOfWeek: readonly number[];
  /** Whether day-of-month was written as something other than `*`; cron ORs the two day fields when both are. */
  daysOfMonthRestricted: boolean;
  daysOfWeekRestricted: boolean;
}

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"] },
  { name: "day-of-week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** Longest each month can be (February in a leap year), to find days of month that never occur. */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Parses a cron expression, or explains what is wrong with it. */
export function parseCron(text: string): { schedule: CronSchedule } | { problem: string } {
  const expanded = MACROS[text.trim().toLowerCase()] ?? text;
  const parts = expanded.trim().split(/\s+/);
  if (parts.length !== 5) {
    return {
      problem: `"${text}" is not a cron expression: it needs 5 fields (minute hour day-of-month month day-of-week), found ${parts[0] === "" ? 0 : parts.length}`,
    };
  }
  const sets: number[][] = [];
  for (const [i, field] of FIELDS.entries()) {
    const result = parseField(parts[i] ?? "", field);
    if (typeof result === "string") return { problem: `"${text}" is not a cron expression: ${result}` };
    sets.push(result);
  }
  const [minutes = [], hours = [], daysOfMonth = [], months = [], rawDaysOfWeek = []] = sets;
  const daysOfWeek = [...new Set(rawDaysOfWeek.map((d) => d % 7))].sort((a, b) => a - b);
  const schedule: CronSchedule = {
    minutes,
    hours,
    daysOfMonth,
    months,
    daysOfWeek,
    daysOfMonthRestricted: parts[2] !== "*",
    daysOfWeekRestricted: parts[4] !== "*",
  };
  if (schedule.daysOfMonthRestricted && !schedule.daysOfWeekRestricted) {
    const possible = months.some((m) => daysOfMonth.some((d) => d <= (MONTH_DAYS[m - 1] ?? 31)));
    if (!possible) return { problem: `"${text}" never fires: none of its months has those days` };
  }
  return { schedule };
}

function parseField(text: string, field: Field): number[] | string {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    const [range = "", stepText, extra] = item.split("/");
    if (extra !== undefined) return `${field.name} "${item}" has more than one step`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) return `${field.name} step "${stepText}" must be a positive number`;
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (range === "*") {
      [low, high] = [field.min, field.max];
    } else {
      const bounds = range.split("-");
      if (bounds.length > 2) return `${field.name} "${item}" is not a value, a range or a step`;
      const first = value(bounds[0] ?? "", field);
      if (typeof first === "string") return first;
      const last = bounds.length === 2 ? value(bounds[1] ?? "", field) : stepText !== undefined ? field.max : first;
      if (typeof last === "string") return last;
      if (last < first) return `${field.name} range "${range}" runs backwards`;
      [low, high] = [first, last];
    }
    for (let v = low; v <= high; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function value(text: string, field: Field): number | string {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  const n = named >= 0 ? named + (field.name === "month" ? 1 : 0) : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (Number.isNaN(n)) return `${field.name} "${text}" is not a number${field.names ? " or a name" : ""}`;
  if (n < field.min || n > field.max) return `${field.name} ${text} is outside ${field.min}-${field.max}`;
  return n;
}

/** Wall-clock fields of one minute, in whatever time zone the caller reads the schedule in. */
export interface WallClock {
  minute: number;
  hour: number;
  /** Day of month, 1–31. */
  day: number;
  /** 1–12. */
  month: number;
  /** 0 is Sunday. */
  weekday: number;
}

/** Whether `schedule` fires at the wall-clock minute `at`. */
export function cronMatches(schedule: CronSchedule, at: WallClock): boolean {
  if (!schedule.minutes.includes(at.minute) || !schedule.hours.includes(at.hour) || !schedule.months.includes(at.month)) return false;
  return cronDayMatches(schedule, at);
}

/** Cron's day rule: when both day fields are restricted either may match; otherwise the restricted one decides. */
export function cronDayMatches(schedule: CronSchedule, at: Pick<WallClock, "day" | "weekday">): boolean {
  const dom = schedule.daysOfMonth.includes(at.day);
  const dow = schedule.daysOfWeek.includes(at.weekday);
  if (schedule.daysOfMonthRestricted && schedule.daysOfWeekRestricted) return dom || dow;
  if (schedule.daysOfMonthRestricted) return dom;
  if (schedule.daysOfWeekRestricted) return dow;
  return true;
}
