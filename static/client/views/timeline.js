// The message list of a conversation: renders the model (conversation.js) with date dividers,
// keeps the reader's place (or follows the end), offers "jump to present" when new messages arrive
// while scrolled up, moves between messages with the arrow keys, and keeps focus across redraws.

import { attachmentsOf } from "../attachments.js";
import { compose, toMarkdown } from "../markdown.js";
import { h, mount } from "../dom.js";
import { icon } from "../icons.js";
import { groupsWith, messageNode } from "./message.js";

const NEAR_END_PX = 80;

function dayLabel(iso) {
  const date = new Date(iso);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return date.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

export class Timeline {
  /** `ctx`: {model, serverId, channelId, can, reply(m), flash(text, error), label}. */
  constructor(ctx) {
    this.ctx = { ...ctx, editingId: null, startEdit: (m) => this.startEdit(m), editor: (m, r) => this.editor(m, r), keepBottom: () => this.keepBottom() };
    this.model = ctx.model;
    this.seq = 0;
    this.follow = false;
    this.unseen = 0;
    this.list = h("ol", { class: "messages", role: "log", "aria-label": `Messages in ${ctx.label}`, tabindex: "0", id: "messages" });
    this.jumpBar = h("div", { class: "jump-bar", id: "jump-bar", hidden: true, role: "status" });
    this.list.addEventListener("scroll", () => {
      if (this.list.scrollTop < 40 && this.model.hasMore && this.model.loaded) this.model.loadOlder();
      if (this.atEnd()) this.hideJump();
    });
    this.list.addEventListener("keydown", (e) => this.onKey(e));
    mount(this.list, h("li", { class: "loading muted", role: "status" }, "Loading messages…"));
  }

  atEnd() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < NEAR_END_PX;
  }

  /** The next render scrolls to the end whatever the reader's place (after sending). */
  followNext() {
    this.follow = true;
  }

  jumpToPresent() {
    this.list.scrollTop = this.list.scrollHeight;
    this.hideJump();
  }

  hideJump() {
    this.unseen = 0;
    this.jumpBar.hidden = true;
  }

  /** A listener that keeps the end in view when content (an image) grows, if it was in view. */
  keepBottom() {
    const atEnd = this.atEnd();
    return () => atEnd && (this.list.scrollTop = this.list.scrollHeight);
  }

  failed(message) {
    mount(this.list, h("li", { class: "error", role: "alert" }, message));
  }

  async render(scroll) {
    const seq = ++this.seq;
    const entries = await this.model.decrypted();
    if (seq !== this.seq || this.model.destroyed) return;
    const atEnd = this.atEnd();
    const beforeHeight = this.list.scrollHeight - this.list.scrollTop;
    const known = this.shown || new Set();
    const focus = this.focusState();
    const items = [this.model.hasMore
      ? h("li", { class: "load-older" }, h("button", { type: "button", class: "secondary small", onclick: () => this.model.loadOlder() }, "Load older messages"))
      : h("li", { class: "history-start muted small" }, "This is the beginning of the conversation. Say hello!")];
    let previous = null;
    let fresh = 0;
    for (const { message, result } of entries) {
      if (!previous || new Date(previous.message.timestamp).toDateString() !== new Date(message.timestamp).toDateString()) {
        items.push(h("li", { class: "date-divider", role: "separator" }, h("span", {}, dayLabel(message.timestamp))));
        previous = null;
      }
      items.push(messageNode(this.ctx, message, result, groupsWith(previous, message, result)));
      previous = { message, result };
      if (this.shown && !known.has(message.id)) fresh += 1;
    }
    this.shown = new Set(entries.map((e) => e.message.id));
    mount(this.list, ...items);
    this.restoreFocus(focus);
    if (scroll === "end" || this.follow || (atEnd && scroll !== "keep")) {
      this.follow = false;
      this.jumpToPresent();
    } else if (scroll === "keep") {
      this.list.scrollTop = this.list.scrollHeight - beforeHeight; // older messages above: keep the place
    } else if (fresh) {
      this.unseen += fresh;
      this.jumpBar.hidden = false;
      mount(this.jumpBar, h("span", {}, `${this.unseen} new message${this.unseen > 1 ? "s" : ""}`),
        h("button", { type: "button", class: "small", id: "jump-present", onclick: () => this.jumpToPresent() }, "Jump to present ", icon("chevron", 14)));
    }
  }

  // ---- focus and keyboard ---------------------------------------------------------------------

  focusState() {
    const active = document.activeElement;
    if (!active || !this.list.contains(active)) return null;
    const row = active.closest(".message");
    return row ? { id: row.dataset.messageId, action: active === row ? null : active.dataset?.action || null } : null;
  }

  restoreFocus(state) {
    if (!state) return;
    const row = this.list.querySelector(`[data-message-id="${CSS.escape(state.id)}"]`);
    if (!row) return this.list.focus({ preventScroll: true });
    row.focus({ preventScroll: true }); // first the row: its actions show (and can take focus) only within focus
    const action = state.action && row.querySelector(`[data-action="${CSS.escape(state.action)}"]`);
    action?.focus({ preventScroll: true });
    return undefined;
  }

  /** Up/Down move between messages (each opens its actions to Tab); Home/End; Escape leaves. */
  onKey(e) {
    const rows = [...this.list.querySelectorAll(".message")];
    if (!rows.length || e.target.closest?.("textarea, input")) return;
    const current = e.target.closest?.(".message");
    let next = null;
    if (e.key === "ArrowUp" && !e.altKey) next = current ? rows[rows.indexOf(current) - 1] : rows.at(-1);
    else if (e.key === "ArrowDown" && !e.altKey) next = current ? rows[rows.indexOf(current) + 1] : rows[0];
    else if (e.key === "Home") next = rows[0];
    else if (e.key === "End") next = rows.at(-1);
    else if (e.key === "Escape") {
      e.preventDefault();
      this.ctx.escape?.();
      return;
    } else return;
    e.preventDefault();
    if (next) {
      next.focus();
      next.scrollIntoView({ block: "nearest" });
    }
  }

  /** The first message row (for the keyboard: the newest is where Up starts). */
  focusLast() {
    const rows = this.list.querySelectorAll(".message");
    (rows[rows.length - 1] || this.list).focus();
  }

  // ---- inline editing -----------------------------------------------------------------------------

  startEdit(message) {
    this.ctx.editingId = message.id;
    this.render();
  }

  stopEdit() {
    this.ctx.editingId = null;
    this.ctx.afterEdit?.();
    this.render();
  }

  editor(message, result) {
    const area = h("textarea", { class: "edit-input", "aria-label": "Edit message", rows: 2 });
    const source = result.content.content_type === "tiptap" ? toMarkdown(result.content.formatting) : null;
    area.value = source ?? String(result.content.text ?? "");
    const save = async () => {
      const text = area.value.trim();
      const original = result.content;
      if (!text && !attachmentsOf(original).length) return;
      // An edit replaces the text; the files (and a preview whose link is still there) stay.
      const composed = compose(text, this.ctx.mentionables?.());
      const next = { text: composed.text };
      if (composed.formatting) Object.assign(next, { contentType: "tiptap", formatting: composed.formatting });
      if (Array.isArray(original.attachments)) next.attachments = original.attachments;
      const previews = (original.link_previews || []).filter((p) => p?.url && text.includes(p.url));
      if (previews.length) next.linkPreviews = previews;
      try {
        await this.model.edit(message, next);
        this.stopEdit();
      } catch (failure) {
        this.ctx.flash(failure.message, true);
      }
    };
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        event.stopPropagation();
        this.stopEdit();
      }
    });
    setTimeout(() => {
      area.focus();
      area.setSelectionRange(area.value.length, area.value.length);
    }, 0);
    return h("div", { class: "editor" }, area, h("p", { class: "muted small" }, "Enter to save, Escape to cancel"));
  }
}
