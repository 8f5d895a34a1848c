/** Identity of alert conditions: one key per condition, one fingerprint per state of it. */
import { createHash } from "node:crypto";
import type { AlertKind, ConditionRef } from "./types.js";

/**
 * The key of a condition: its kind and what it is about. A halted wave is the wave's condition whichever
 * cluster halted it; every other kind is its cluster's (or the fleet's, without one).
 */
export function conditionKey(ref: ConditionRef): string {
  const cluster = ref.kind === "wave-halted" ? undefined : ref.cluster;
  const wave = ref.kind === "wave-halted" ? ref.wave : undefined;
  return `${ref.kind}/${cluster ?? "-"}/${wave ?? "-"}`;
}

/**
 * The fingerprint (cluster, wave, kind, hash of the diff): the same drift keeps it across ticks and restarts;
 * a different drift of the same cluster gets a new one, and is sent again at once.
 */
export function alertFingerprint(input: { kind: AlertKind; cluster?: string; wave?: string; diff?: string }): string {
  const diffHash = createHash("sha256").update(input.diff ?? "").digest("hex");
  return createHash("sha256")
    .update([input.kind, input.cluster ?? "", input.wave ?? "", diffHash].join("\u0000"))
    .digest("hex")
    .slice(0, 16);
}

/**
 * `text` cut to at most `max` characters, at a line end when one is near, with a last line that says how
 * much was left out. Receivers cap their fields (Slack 3000 characters a block); a cut is always said.
 */
export function truncateText(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const note = (left: number): string => `\n… ${String(left)} more characters, see the plan`;
  const room = Math.max(0, max - note(text.length).length);
  const newline = text.lastIndexOf("\n", room);
  const cut = newline > room * 0.8 ? newline : room;
  return { text: `${text.slice(0, cut)}${note(text.length - cut)}`, truncated: true };
}
