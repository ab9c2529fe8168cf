// One message in the timeline: author line, body (rich text or plain), attachments (images open
// in a lightbox), link previews, reply reference, reactions and the actions (reply, react, edit,
// delete, pin, report). Markers stand for refused messages; system events are one line.
//
// `ctx` is the timeline's context: {model, serverId, channelId, can(flag), editingId, reply(m),
// startEdit(m), editor(m, result), flash(text, error), keepBottom()}.

import { attachmentsOf, formatSize, isPreviewable, previewUrl, resolvedPreview, saveAttachment } from "../attachments.js";
import { h } from "../dom.js";
import { customEmojis } from "../emojis.js";
import { renderDoc } from "../formatting.js";
import { icon } from "../icons.js";
import { avatar, emojiImage, link, reactionEmoji, richText } from "../media.js";
import { mentionsMe } from "../notify.js";
import { P } from "../perms.js";
import { store } from "../store.js";
import { formatTime, fromB64, fromUtf8 } from "../util.js";
import { openEmojiPicker } from "./emoji-picker.js";
import { confirmModal, openModal } from "./modal.js";
import { showProfile, showSafetyNumber } from "./profile.js";
import { reportMessage } from "./report.js";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
const clip = (value, max) => (typeof value === "string" && value.trim() ? value.trim().slice(0, max) : undefined);
const isHttp = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

/** A link preview as embedded in (or read from) an encrypted body: bounded strings only. */
export function cleanPreview(p) {
  if (!p || !isHttp(p.url)) return null;
  const out = { url: p.url.slice(0, 2000) };
  if (isHttp(p.image) && p.image === p.url && !p.title && !p.description) return { url: out.url, image: out.url }; // a link to an image
  for (const [key, max] of [["title", 300], ["description", 600], ["site_name", 100]]) {
    const value = clip(p[key], max);
    if (value) out[key] = value;
  }
  if (isHttp(p.image)) out.image = p.image.slice(0, 2000);
  return out.title || out.description || out.image ? out : null;
}

/** A link preview card: title (a link), site, description; the image only as a link, never loaded. */
export function previewCard(p) {
  return h("div", { class: "link-preview" },
    p.site_name ? h("div", { class: "site muted small" }, p.site_name) : null,
    h("div", { class: "title" }, link(p.url, p.title || p.url)),
    p.description ? h("p", { class: "description small" }, p.description) : null,
    p.image ? h("div", { class: "image-link muted small" }, "Image: ", link(p.image)) : null);
}

/** Does this message group under the previous one (same author, within 5 minutes)? */
export function groupsWith(previous, message, result) {
  return Boolean(previous) && previous.result?.status === "ok" && result.status === "ok" && previous.result.senderId === result.senderId &&
    !previous.result.forged && !result.forged && !message.reply_to_id &&
    Date.parse(message.timestamp) - Date.parse(previous.message.timestamp) < 5 * 60_000;
}

export function messageNode(ctx, message, result, grouped) {
  if (result.status === "system") return systemNode(message);
  if (result.status === "replay") return markerNode(message, "replay", "⚠ A copy of an earlier message was posted again (a replay): it is shown once, where it was first sent.");
  if (result.status === "plaintext") {
    const claimed = result.claimedId ? ctx.model.names.name(result.claimedId) || "someone" : "someone";
    return markerNode(message, "plaintext", `⚠ An unencrypted message (claiming to be from ${claimed}) was refused: Haven clients never send one.`);
  }
  const names = ctx.model.names;
  const ok = result.status === "ok";
  const mine = ok && result.senderId === store.me.id;
  const author = ok ? names.name(result.senderId) || "Unknown user" : "Unknown sender";
  const editing = ctx.editingId === message.id && ok;
  let body;
  if (ok) {
    const text = String(result.content.text ?? "");
    const rich = result.content.content_type === "tiptap" ? renderDoc(result.content.formatting, { meId: store.me.id }) : null;
    body = rich ? h("div", { class: "body rich" }, rich) : text ? h("div", { class: "body" }, richText(text, ctx.serverId, store.me.username)) : null;
  } else if (result.status === "missing") {
    body = h("div", { class: "body undecryptable" }, icon("lock", 14), " Waiting for this message's key…");
  } else if (result.status === "other-device") {
    body = h("div", { class: "body undecryptable", dataset: { status: "other-device" } }, icon("lock", 14), " This message belongs to a session of your other browser: it cannot be read here.");
  } else {
    body = h("div", { class: "body undecryptable" }, "⚠ This message could not be decrypted or verified.");
  }
  if (editing) body = ctx.editor(message, result);
  const warnings = [];
  if (ok && result.forged) {
    const claimed = result.claimedId && result.claimedId !== result.senderId ? ` (claims to be ${names.name(result.claimedId) || "someone else"})` : "";
    warnings.push(h("span", { class: "warn small forged", dataset: { flag: "forged" }, title: `Not what it claims: ${result.forged}` }, `⚠ forged${claimed}`));
  }
  if (ok && !mine && store.crypto.trust.changes(result.senderId).length) {
    warnings.push(h("button", { type: "button", class: "warn small link", dataset: { flag: "key-changed" }, title: "This person's identity key changed: compare safety numbers",
      onclick: () => showSafetyNumber(result.senderId) }, "⚠ key changed"));
  }
  const mentioned = ok && !mine && mentionsMe(result.content, store.me);
  const time = h("time", { datetime: message.timestamp, title: new Date(message.timestamp).toLocaleString() }, formatTime(message.timestamp));
  return h(
    "li",
    { class: `message${mine ? " own" : ""}${grouped ? " grouped" : ""}${ok && result.forged ? " forged" : ""}${mentioned ? " mentioned" : ""}${ctx.model.pinned.has(message.id) ? " pinned" : ""}`,
      dataset: { messageId: message.id, status: result.status }, id: `msg-${message.id}`, tabindex: "-1", "aria-label": `${author}, ${formatTime(message.timestamp)}` },
    grouped ? null : avatar({ userId: result.senderId, name: author, url: ok ? names.avatar(result.senderId) : null, size: 36, className: "message-avatar" }),
    grouped ? null : h("div", { class: "meta" },
      h("button", { type: "button", class: "author link", dataset: ok ? { userId: result.senderId } : undefined, onclick: () => ok && showProfile(result.senderId, ctx.serverId) }, author),
      time, warnings),
    grouped ? h("span", { class: "grouped-time" }, time) : null,
    grouped && warnings.length ? h("div", { class: "meta" }, warnings) : null,
    message.reply_to_id ? replyRef(ctx, message.reply_to_id) : null,
    body,
    editing || !ok ? null : contentExtras(ctx, result.content),
    message.edited ? h("span", { class: "edited muted small" }, "(edited)") : null,
    reactionsNode(ctx, message),
    actionsNode(ctx, message, result, mine),
  );
}

/** A line standing for a message that is refused rather than shown. */
function markerNode(message, kind, text) {
  return h("li", { class: `message marker ${kind}`, dataset: { messageId: message.id, status: kind }, id: `msg-${message.id}`, tabindex: "-1" },
    h("span", { class: "warn small" }, text),
    h("time", { class: "muted small", datetime: message.timestamp }, ` ${formatTime(message.timestamp)}`));
}

const SYSTEM_TEXTS = {
  member_joined: (who) => `${who} joined the server.`,
  member_left: (who) => `${who} left.`,
  member_kicked: (who) => `${who} was kicked.`,
  member_banned: (who) => `${who} was banned.`,
  message_pinned: (who) => `${who} pinned a message.`,
  message_unpinned: (who) => `${who} unpinned a message.`,
  call_ended: (who, event) => `Call ended after ${event.duration_secs ?? 0} s.`,
};

function systemNode(message) {
  let event = {};
  try {
    event = JSON.parse(fromUtf8(fromB64(message.encrypted_body)));
  } catch {
    /* unreadable: shown generically */
  }
  const text = SYSTEM_TEXTS[event.event]?.(event.username || "Someone", event) || "System event.";
  return h("li", { class: "message system", dataset: { messageId: message.id, event: event.event || "unknown" }, tabindex: "-1" },
    h("span", { class: "system-text" }, text),
    h("time", { class: "muted small", datetime: message.timestamp }, ` ${formatTime(message.timestamp)}`));
}

function replyRef(ctx, id) {
  const parent = ctx.model.messages.get(id);
  const result = parent && ctx.model.results.get(id);
  const quoted = result?.status === "ok" ? String(result.content.text ?? "") || (attachmentsOf(result.content).length ? "attachment" : "") : "";
  const text = result?.status === "ok" ? `${ctx.model.names.name(result.senderId) || "Someone"}: ${quoted.slice(0, 80)}` : "an earlier message";
  return h("a", { class: "reply-ref muted small", href: `#msg-${id}`, onclick: (e) => {
    e.preventDefault();
    const target = document.getElementById(`msg-${id}`);
    target?.scrollIntoView({ block: "center" });
    target?.focus();
  } }, icon("reply", 14), ` ${text}`);
}

/** Attachments and the link previews of a decrypted message. */
function contentExtras(ctx, content) {
  const files = attachmentsOf(content);
  const previews = (Array.isArray(content.link_previews) ? content.link_previews : []).slice(0, 3).map(cleanPreview).filter(Boolean);
  if (!files.length && !previews.length) return null;
  return h("div", { class: "extras" },
    files.length ? h("div", { class: "attachments" }, files.map((a) => attachmentNode(ctx, a))) : null,
    previews.map(previewCard));
}

function attachmentNode(ctx, attachment) {
  const status = h("span", { class: "file-status muted small", role: "status" });
  const button = h("button", { type: "button", class: "small secondary", dataset: { action: "download" }, "aria-label": `Download ${attachment.filename}` }, icon("download", 14), " Download");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = " Decrypting…";
    try {
      await saveAttachment(attachment, (done, total) => {
        status.textContent = ` Decrypting… ${total ? Math.round((done / total) * 100) : 100}%`;
      });
      status.textContent = "";
    } catch (failure) {
      status.textContent = "";
      ctx.flash(`Could not download ${attachment.filename}: ${failure.message}`, true);
    } finally {
      button.disabled = false;
    }
  });
  let image = null;
  if (isPreviewable(attachment)) {
    const img = h("img", { class: "attachment-image", alt: attachment.filename });
    image = h("button", { type: "button", class: "image-open", "aria-label": `Open ${attachment.filename}`, dataset: { action: "open-image" }, onclick: () => img.src && openLightbox(img.src, attachment.filename) }, img);
    const ready = resolvedPreview(attachment);
    if (ready) img.src = ready;
    else {
      image.hidden = true;
      previewUrl(attachment).then((url) => {
        if (!url) return;
        img.addEventListener("load", ctx.keepBottom(), { once: true });
        img.src = url;
        image.hidden = false;
      }, () => {
        status.textContent = " (preview unavailable)";
      });
    }
  }
  return h("div", { class: `attachment${attachment.spoiler ? " spoiler" : ""}`, dataset: { attachmentId: attachment.id } },
    image,
    h("div", { class: "file-card" },
      icon(isPreviewable(attachment) ? "image" : "file", 18),
      h("span", { class: "file-name" }, attachment.filename),
      h("span", { class: "file-size muted small" }, formatSize(attachment.size)),
      button, status));
}

/** A decrypted image at full size over the app (Escape or the close button returns). */
export function openLightbox(src, name) {
  const modal = openModal(name, h("img", { class: "lightbox-image", src, alt: name }));
  modal.dialog.classList.add("lightbox");
  return modal;
}

function reactionsNode(ctx, message) {
  const groups = ctx.model.reactions.get(message.id);
  if (!groups?.length) return null;
  const live = store.realtime.live;
  return h("div", { class: "reactions" }, groups.map((g) => {
    const mine = g.user_ids.includes(store.me.id);
    return h("button", { type: "button", class: `reaction${mine ? " mine" : ""}`, "aria-pressed": String(mine), disabled: !live,
      title: live ? (mine ? "Remove your reaction" : "React") : "Reacting needs the live connection",
      onclick: () => ctx.model.react(message.id, g.emoji, mine) }, reactionEmoji(g.emoji, ctx.serverId), ` ${g.count}`);
  }));
}

function actionsNode(ctx, message, result, mine) {
  const live = store.realtime.live;
  const timedOut = Boolean(store.timedOutUntil(ctx.serverId));
  const canModerate = Boolean(ctx.serverId) && ctx.can(P.MANAGE_MESSAGES);
  const canPin = !ctx.serverId || mine || canModerate;
  const pinned = ctx.model.pinned.has(message.id);
  const ok = result.status === "ok";
  const buttons = [];
  const add = (label, action, iconName, fn, enabled = true, why = "") => buttons.push(
    h("button", { type: "button", class: "icon-button small", dataset: { action }, "aria-label": label, title: enabled ? label : why, disabled: !enabled, onclick: fn }, icon(iconName, 16)),
  );
  if (ok) add("Reply", "reply", "reply", () => ctx.reply(message));
  add("React", "react", "smile", (e) => reactionPicker(ctx, message, e.currentTarget), live && ctx.can(P.ADD_REACTIONS) && !timedOut,
    timedOut ? "You are timed out" : "Reacting needs the live connection");
  if (mine && ok) add("Edit", "edit", "edit", () => ctx.startEdit(message), live, "Editing needs the live connection");
  if (mine || canModerate) add("Delete", "delete", "trash", () => deleteMessage(ctx, message), live || canModerate, "Deleting needs the live connection");
  if (canPin) add(pinned ? "Unpin" : "Pin", pinned ? "unpin" : "pin", "pin", () => ctx.model.pin(message.id, pinned), live && !timedOut, "Pinning needs the live connection");
  if (!mine && message.message_type !== "system") {
    // What the reporter may choose to share: the text and file names this browser decrypted.
    add("Report", "report", "flag", () => reportMessage(message, ctx.channelId, (text) => ctx.flash(text),
      ok ? result.content : null, ok ? attachmentsOf(result.content).map((a) => a.filename) : []));
  }
  return h("div", { class: "actions", role: "group", "aria-label": "Message actions" }, buttons);
}

function reactionPicker(ctx, message, anchor) {
  const custom = customEmojis.list(ctx.serverId);
  const react = (emoji) => {
    picker.remove();
    ctx.model.react(message.id, emoji, false);
  };
  const picker = h("div", { class: "picker", role: "group", "aria-label": "Pick a reaction" },
    QUICK_REACTIONS.map((emoji) => h("button", { type: "button", class: "icon-button", "aria-label": `React with ${emoji}`, onclick: () => react(emoji) }, emoji)),
    h("button", { type: "button", class: "icon-button", "aria-label": "More emojis", dataset: { action: "more-emojis" }, onclick: () => {
      picker.remove();
      // A custom emoji reacts with its id (api.md 2.9: "a Unicode emoji or a custom emoji id").
      openEmojiPicker({ title: "React", custom, onPick: (choice) => ctx.model.react(message.id, choice.custom ? choice.custom.id : choice.char, false) });
    } }, icon("plus", 16)),
    custom.slice(0, 6).map((emoji) => h("button", { type: "button", class: "icon-button", "aria-label": `React with :${emoji.name}:`, onclick: () => react(emoji.id) }, emojiImage(emoji, "emoji small"))));
  picker.addEventListener("keydown", (e) => e.key === "Escape" && (picker.remove(), anchor.focus()));
  anchor.closest(".message").append(picker);
  picker.querySelector("button").focus();
}

function deleteMessage(ctx, message) {
  confirmModal("Delete message", "Delete this message for everyone?", "Delete", () => ctx.model.deleteMessage(message));
}
