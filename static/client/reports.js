// Reports, without the DOM: what a reporter may share of a message (POST /reports takes the
// decrypted text and attachment names only when the reporter chooses, docs/moderation.md), and
// how a decision reads to them (the ReportResolved event and GET /reports: status and outcome).

export const MAX_CONTENT = 8192; // characters (the server's limit)
export const MAX_NAME = 255;
export const MAX_NAMES = 50;

/** The first `max` characters (code points: never half an emoji). */
const clip = (text, max) => Array.from(text).slice(0, max).join("");

/**
 * What the reporter may share of decrypted content (`{text, attachments}` of e2ee.md 6.3):
 * `{content, attachment_names, cut}` for the report body, or null when there is nothing to share.
 * `cut` says the text was longer than the server takes.
 */
export function shareable(content, attachmentNames = []) {
  const text = typeof content?.text === "string" ? content.text : "";
  const names = attachmentNames.filter((n) => typeof n === "string" && n).slice(0, MAX_NAMES).map((n) => clip(n, MAX_NAME));
  if (!text.trim() && !names.length) return null;
  const kept = clip(text, MAX_CONTENT);
  return { content: text.trim() ? kept : null, attachment_names: names.length ? names : null, cut: kept.length < text.length };
}

const OUTCOMES = {
  dismissed: "it was dismissed: no action was needed",
  resolved: "it was marked resolved",
  message_deleted: "the message was deleted",
  author_timed_out: "its author was timed out in that server",
  author_banned: "its author was banned from that server",
  author_suspended: "its author's account was suspended",
};

/** What happened to a report, as a phrase ("its author was banned from that server"). */
export function outcomeText(report) {
  if (!report.outcome && report.status === "pending") return "waiting for review";
  return OUTCOMES[report.outcome] || (report.status === "dismissed" ? OUTCOMES.dismissed : OUTCOMES.resolved);
}

/** The notice a reporter gets when an admin decides (`where`: "#general in Daily", ...). */
export function resolvedNotice(report, where) {
  return `The instance's admins reviewed your report of a message in ${where}: ${outcomeText(report)}.`;
}

/**
 * Reports decided while this browser was not listening (signed out, tab closed), to tell once:
 * those of `reports` (GET /reports) resolved after `seenAt` (ms; null: nothing seen yet on this
 * browser, so nothing is told). Returns them oldest first, and the new `seenAt`.
 */
export function newlyResolved(reports, seenAt, now = Date.now()) {
  const decided = reports.filter((r) => r.resolved_at).sort((a, b) => Date.parse(a.resolved_at) - Date.parse(b.resolved_at));
  const newest = decided.length ? Date.parse(decided.at(-1).resolved_at) : 0;
  if (seenAt === null) return { fresh: [], seenAt: Math.max(newest, now) };
  return { fresh: decided.filter((r) => Date.parse(r.resolved_at) > seenAt), seenAt: Math.max(newest, seenAt) };
}
