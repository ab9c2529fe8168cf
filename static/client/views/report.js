// Reporting a message (POST /reports, api.md 2.24): a reason chosen from a list, optional details,
// and, only if the reporter ticks it, the message's decrypted text and attachment names
// (docs/moderation.md "Filing"). The server cannot read the message, so the dialog says what the
// instance's admins will and will not see, and what sharing sends them.

import { api } from "../api.js";
import { h } from "../dom.js";
import { reportOutcomes } from "../report-outcomes.js";
import { shareable } from "../reports.js";
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

/**
 * The report dialog for `message` in `channelId`. `content` is the message's decrypted content
 * (null when it could not be read) and `attachmentNames` its files' names: offered for sharing.
 */
export function reportMessage(message, channelId, onSent, content = null, attachmentNames = []) {
  const offer = shareable(content, attachmentNames);
  const choices = h("fieldset", { class: "report-reasons" }, h("legend", {}, "What is wrong with this message?"),
    REASONS.map(([id, label], i) => h("label", { class: "check" }, h("input", { type: "radio", name: "reason", value: id, required: true, checked: i === 0 }), ` ${label}`)));
  const modal = formModal("Report message", [
    h("p", { class: "muted small" }, `Messages are end-to-end encrypted: the server and its admins cannot read this message. The report tells them which message it is, where, and your reason; describe what matters below${offer ? ", or choose to show them the message" : ""}.`),
    choices,
    h("label", { class: "field" }, h("span", {}, "Details (optional)"), h("textarea", { name: "details", rows: 3, maxlength: 900 })),
    offer ? shareChoice(offer) : null,
  ], "Send report", async (values) => {
    const body = { message_id: message.id, channel_id: channelId, reason: reportReason(values.reason, values.details || "") };
    if (offer && values.share) Object.assign(body, { content: offer.content, attachment_names: offer.attachment_names });
    await api("POST", "/reports", body);
    reportOutcomes.filed();
    onSent?.(values.share ? "Report sent with the message. The instance's admins will review it." : "Report sent. The instance's admins will review it.");
  });
  modal.dialog.id = "report-dialog";
  return modal;
}

/** "Show them the message?": off until ticked; ticking shows exactly what would be sent. */
function shareChoice(offer) {
  const box = h("input", { type: "checkbox", name: "share", id: "report-share" });
  const files = offer.attachment_names;
  const preview = h("div", { class: "report-preview", id: "report-preview", hidden: true },
    h("p", { class: "warn small" }, "This sends the decrypted text and file names below to this instance's admins with your report, readable by them. The server cannot check them against the encrypted message."),
    offer.content ? h("pre", { class: "shared-text" }, offer.content) : null,
    offer.cut ? h("p", { class: "muted small" }, "(Only the first 8192 characters are sent.)") : null,
    files ? h("p", { class: "small" }, `Attachments: ${files.join(", ")}`) : null);
  box.addEventListener("change", () => { preview.hidden = !box.checked; });
  return h("fieldset", { class: "report-share" }, h("legend", {}, "Show the admins the message?"),
    h("label", { class: "check" }, box, " Include its text and attachment names, so they can see what it says"),
    preview);
}
