// Reporting a message (POST /reports, api.md 2.24): a reason chosen from a list, optional details.
// The server stores the message id, the channel and the reason; it cannot read the message, so the
// dialog says what the instance's admins will and will not see.
//
// For the follow-up (issue 14): an optional field carrying what the reporter chooses to reveal
// (the decrypted text, attachment names) belongs in this dialog, sent with the same POST; a
// resolved-report event would be routed in dispatch.js to `store.tell()`, like the moderation
// notices.

import { api } from "../api.js";
import { h } from "../dom.js";
import { formModal } from "./modal.js";

export const REASONS = [
  ["spam", "Spam or scam"],
  ["harassment", "Harassment or bullying"],
  ["hate", "Hate speech"],
  ["violence", "Threats or violence"],
  ["sexual", "Sexual content without consent, or involving minors"],
  ["self-harm", "Self-harm"],
  ["other", "Something else"],
];
const MAX_REASON = 1000;

/** The reason text sent to the server: the chosen label, then the details (at least 10 bytes). */
export function reportReason(choice, details) {
  const label = (REASONS.find(([id]) => id === choice) || REASONS.at(-1))[1];
  const extra = details.trim();
  return (extra ? `${label}: ${extra}` : label).slice(0, MAX_REASON);
}

export function reportMessage(message, channelId, onSent) {
  const choices = h("fieldset", { class: "report-reasons" }, h("legend", {}, "What is wrong with this message?"),
    REASONS.map(([id, label], i) => h("label", { class: "check" }, h("input", { type: "radio", name: "reason", value: id, required: true, checked: i === 0 }), ` ${label}`)));
  const modal = formModal("Report message", [
    h("p", { class: "muted small" }, "Messages are end-to-end encrypted: the server and its admins cannot read this message. The report tells them which message it is, where, and your reason; describe what matters below."),
    choices,
    h("label", { class: "field" }, h("span", {}, "Details (optional)"), h("textarea", { name: "details", rows: 3, maxlength: 900 })),
  ], "Send report", async (values) => {
    await api("POST", "/reports", { message_id: message.id, channel_id: channelId, reason: reportReason(values.reason, values.details || "") });
    onSent?.("Report sent. The instance's admins will review it.");
  });
  modal.dialog.id = "report-dialog";
  return modal;
}
