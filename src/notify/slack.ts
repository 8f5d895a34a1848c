/**
 * The Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat take the same JSON): a `text`
 * fallback for notifications and `blocks` for the message — a header line, the diff in a code block
 * (Slack caps a block's text at 3000 characters, so it is cut and says so), and the fleet, cluster, wave,
 * revision and plan link.
 */
import { truncateText } from "./condition.js";
import { postJson, type PostResult } from "./http.js";
import { resolvedSummary } from "./payload.js";
import type { AlertCondition, AlertStatus, ResolvedReceiver } from "./types.js";
import type { DeliveryContext } from "./webhook.js";

/** Room for the diff inside one section block (3000 characters with the fences). */
export const SLACK_MAX_DIFF = 2900;

/** An incoming-webhook message. */
export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

/** Escapes what Slack's mrkdwn reads as markup (`&`, `<`, `>`), so a name cannot forge a link or a mention. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The message for `condition` in `status`. */
export function slackMessage(condition: AlertCondition, status: AlertStatus): SlackMessage {
  const event = condition.event;
  const resolved = status === "resolved";
  const icon = resolved ? ":white_check_mark:" : event.severity === "critical" ? ":rotating_light:" : ":warning:";
  const summary = resolved ? resolvedSummary(condition) : event.summary;
  const text = `${icon} bosun ${escapeMrkdwn(event.fleet)}: ${escapeMrkdwn(summary)}`;
  const blocks: Record<string, unknown>[] = [{ type: "section", text: { type: "mrkdwn", text: `*${text}*` } }];
  if (!resolved && event.diff !== undefined && event.diff !== "") {
    // A fence inside the diff would close the code block early; a zero-width space keeps it literal.
    const diff = truncateText(event.diff, SLACK_MAX_DIFF).text.replaceAll("```", "`\u200b``");
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `\`\`\`${escapeMrkdwn(diff)}\`\`\`` } });
  }
  const facts = [`fleet ${event.fleet}`, ...(event.cluster ? [`cluster ${event.cluster}`] : []), ...(event.wave ? [`wave ${event.wave}`] : []), `revision ${event.revision.slice(0, 12)}`].map(escapeMrkdwn);
  if (event.planUrl !== undefined) facts.push(`<${escapeMrkdwn(event.planUrl)}|plan>`);
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: facts.join(" · ") }] });
  return { text, blocks };
}

/** Posts the message to an incoming webhook. */
export async function deliverSlack(target: ResolvedReceiver, condition: AlertCondition, status: AlertStatus, context: DeliveryContext): Promise<PostResult> {
  const body = JSON.stringify(slackMessage(condition, status));
  return postJson({ receiver: target.receiver.name, url: target.url, body, retry: context.retry, sleep: context.sleep, ...(context.signal ? { signal: context.signal } : {}) });
}
