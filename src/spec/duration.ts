/**
 * Durations as the spec writes them: hours, minutes and seconds in that order, like Go's and Kubernetes'
 * (`90s`, `10m`, `6h`, `1h30m`). Days are left out on purpose: a "day" across a daylight-saving change is
 * not 24 hours, and windows are the place for calendar time.
 */

const DURATION = /^(?:(\d{1,6})h)?(?:(\d{1,7})m)?(?:(\d{1,9})s)?$/;

/** Parses a duration into seconds, or explains why it is not one. */
export function parseDuration(text: string): { seconds: number } | { problem: string } {
  const match = DURATION.exec(text);
  if (text === "" || !match) {
    const hint = /^\d+d$/.test(text) ? `; days are not a unit, write ${String(Number(text.slice(0, -1)) * 24)}h` : "";
    return { problem: `"${text}" is not a duration such as 90s, 10m, 6h or 1h30m${hint}` };
  }
  const [, h = "0", m = "0", s = "0"] = match;
  return { seconds: Number(h) * 3600 + Number(m) * 60 + Number(s) };
}

/** Seconds of a duration the schema has already accepted; 0 for text that is not a duration. */
export function durationSeconds(text: string): number {
  const parsed = parseDuration(text);
  return "seconds" in parsed ? parsed.seconds : 0;
}

/** Formats seconds the way the spec writes durations: `1h30m`, `45s`, `0s`. */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return "0s";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`;
}
