// The composer: text with Markdown-style formatting and @mentions (autocomplete from the members),
// files (picked or dropped), a link preview fetched while typing, emojis and GIFs, replies.
//
// Sending clears the box at once (what is typed next is never lost) and queues the message; each
// is encrypted and delivered in order. A send that fails gives its words and files back.

import { api } from "../api.js";
import { formatSize, MAX_FILES, uploadFile } from "../attachments.js";
import { h, mount } from "../dom.js";
import { customEmojis } from "../emojis.js";
import { compose } from "../markdown.js";
import { icon } from "../icons.js";
import { firstUrl } from "../media.js";
import { loadServerMembers } from "../people.js";
import { P } from "../perms.js";
import { store } from "../store.js";
import { debounce } from "../util.js";
import { openEmojiPicker } from "./emoji-picker.js";
import { openGifPicker } from "./gifs.js";
import { cleanPreview, previewCard } from "./message.js";

const MENTION_AT_CARET = /(^|[\s(])@([\w-]{0,32})$/;

export class Composer {
  /** `chat`: {model, serverId, channelId, label, can(flag), flash(text, error), timeline, confirmKeyChanges()}. */
  constructor(chat) {
    this.chat = chat;
    this.model = chat.model;
    this.queue = Promise.resolve();
    this.pending = []; // files for the next message: {file, id, progress, failed, uploaded?}
    this.draft = null; // link preview: {url (as typed), data}
    this.dismissed = new Set();
    this.replyTo = null;
    this.people = [];
    this.build();
    this.loadPeople();
    // Someone joined or left: the autocomplete follows (after the member list re-read them).
    this.offs = chat.serverId ? [store.on(`members:${chat.serverId}`, () => setTimeout(() => this.loadPeople(), 300))] : [];
  }

  destroy() {
    this.offs.forEach((off) => off());
  }

  build() {
    const { label } = this.chat;
    this.input = h("textarea", { rows: 1, "aria-label": `Message ${label}`, placeholder: `Message ${label}`, id: "composer-input", maxlength: 4000,
      "aria-autocomplete": "list", "aria-controls": "mention-list", enterkeyhint: "send" });
    this.replyBar = h("div", { class: "reply-bar", hidden: true });
    this.fileInput = h("input", { type: "file", multiple: true, hidden: true, id: "file-input", "aria-label": "Choose files to attach" });
    this.fileInput.addEventListener("change", () => {
      this.addFiles([...this.fileInput.files]);
      this.fileInput.value = "";
    });
    this.attachButton = h("button", { type: "button", class: "icon-button composer-button", id: "attach-button", "aria-label": "Attach files",
      title: "Attach files (encrypted in your browser)", onclick: () => this.fileInput.click() }, icon("clip", 20));
    const emojiButton = h("button", { type: "button", class: "icon-button composer-button", id: "emoji-button", "aria-label": "Insert an emoji", title: "Emoji",
      onclick: () => openEmojiPicker({ custom: customEmojis.list(this.chat.serverId),
        onPick: (choice) => this.insert(choice.custom ? `:${choice.custom.name}:` : choice.char) }) }, icon("smile", 20));
    const gifButton = store.features.has("gifs")
      ? h("button", { type: "button", class: "icon-button composer-button", id: "gif-button", "aria-label": "Send a GIF", title: "Send a GIF",
        onclick: () => openGifPicker((gif) => this.enqueue({ text: gif.url })) }, "GIF") : null;
    this.sendButton = h("button", { type: "submit", class: "icon-button composer-button send-button", id: "send-button", "aria-label": "Send" }, icon("back", 20));
    this.pendingList = h("ul", { class: "pending-files", hidden: true, "aria-label": "Files to send", id: "pending-files" });
    this.previewBox = h("div", { class: "preview-draft", hidden: true, id: "preview-draft", "aria-live": "polite" });
    this.mentionList = h("ul", { class: "mention-list", id: "mention-list", role: "listbox", "aria-label": "People to mention", hidden: true });
    this.offer = h("div", { class: "notify-offer", id: "notify-offer", hidden: true });
    this.blocked = h("p", { class: "composer-blocked muted small", id: "composer-blocked", hidden: true, role: "status" });
    this.element = h("form", { class: "composer", id: "composer" }, this.offer, this.mentionList, this.replyBar, this.pendingList, this.previewBox, this.blocked,
      h("div", { class: "composer-row" }, this.attachButton, this.input, emojiButton, gifButton, this.sendButton), this.fileInput);
    this.element.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("input", () => {
      this.grow();
      if (this.input.value) store.realtime.typing(this.chat.channelId);
      this.schedulePreview();
      this.suggest();
    });
    this.input.addEventListener("blur", () => setTimeout(() => this.closeSuggestions(), 150));
    this.updateAccess();
  }

  grow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }

  /** Sending is refused without SEND_MESSAGES or while timed out: say why, instead of failing later. */
  updateAccess() {
    const { serverId } = this.chat;
    const until = store.timedOutUntil(serverId);
    const canSend = !serverId || this.chat.can(P.SEND_MESSAGES);
    const why = until ? `You are timed out in this server until ${new Date(until).toLocaleString()}. You can read, but not send.`
      : canSend ? "" : "You do not have permission to send messages here.";
    this.input.disabled = Boolean(why);
    this.sendButton.disabled = Boolean(why);
    this.attachButton.disabled = Boolean(why) || (Boolean(serverId) && !this.chat.can(P.ATTACH_FILES));
    this.blocked.hidden = !why;
    this.blocked.textContent = why;
    this.input.placeholder = why ? "You cannot send messages here right now." : `Message ${this.chat.label}`;
  }

  focus() {
    if (!this.input.disabled) this.input.focus();
  }

  insert(text) {
    const { selectionStart: start, selectionEnd: end, value } = this.input;
    this.input.value = `${value.slice(0, start)}${text}${value.slice(end)}`;
    this.input.setSelectionRange(start + text.length, start + text.length);
    this.input.focus();
    this.grow();
  }

  onKey(event) {
    if (!this.mentionList.hidden && this.suggestKey(event)) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    } else if (event.key === "Escape") {
      if (this.replyTo) this.setReply(null);
      else this.chat.escape(); // jump to the present and mark the channel read
    } else if (event.key === "ArrowUp" && !event.altKey && !this.input.value) {
      const last = this.model.lastOwn();
      if (last && store.realtime.live) {
        event.preventDefault();
        this.chat.timeline.startEdit(last);
      }
    }
  }

  setReply(message) {
    this.replyTo = message;
    this.replyBar.hidden = !message;
    if (message) {
      const result = this.model.results.get(message.id);
      mount(this.replyBar, h("span", {}, `Replying to ${this.model.names.name(result?.senderId) || "a message"}`),
        h("button", { type: "button", class: "icon-button small", "aria-label": "Cancel reply", onclick: () => this.setReply(null) }, icon("close", 14)));
    }
    this.focus();
  }

  // ---- sending ---------------------------------------------------------------------------------

  submit() {
    const source = this.input.value.trim();
    if (!source && !this.pending.length) return;
    const job = { source, files: this.pending, replyTo: this.replyTo, preview: this.draft?.data && source.includes(this.draft.url) ? this.draft.data : null };
    // Clear now: whatever is typed from here on belongs to the next message.
    this.input.value = "";
    this.grow();
    this.pending = [];
    this.drawPending();
    this.setDraft(null);
    this.setReply(null);
    this.chat.timeline.followNext();
    this.enqueue(null, job);
  }

  /** Queues a message (`content` as is, or a composer job); messages leave in order. */
  enqueue(content, job = null) {
    this.queue = this.queue.then(() => this.sendOne(content, job)).catch(() => {});
  }

  async sendOne(content, job) {
    try {
      if (!(await this.chat.confirmKeyChanges())) throw new Error("Not sent: the security key change was not confirmed.");
      let attachmentIds = [];
      if (job) {
        const { text, formatting } = compose(job.source, this.mentionables());
        content = { text };
        if (formatting) Object.assign(content, { contentType: "tiptap", formatting });
        const files = await this.upload(job.files);
        this.drawPending();
        if (files.length) content.attachments = files;
        attachmentIds = files.map((f) => f.id);
        if (job.preview) content.linkPreviews = [job.preview];
      }
      this.chat.timeline.followNext();
      await this.model.send(content, { replyTo: job?.replyTo?.id, attachmentIds });
      this.offerNotifications();
    } catch (failure) {
      if (job) this.giveBack(job);
      else this.drawPending();
      this.chat.flash(failure.message || "Could not send the message.", true);
    }
  }

  /** A failed send: its words (before anything typed since) and files return to the composer. */
  giveBack(job) {
    const typed = this.input.value;
    this.input.value = typed ? `${job.source}\n${typed}` : job.source;
    this.grow();
    this.pending = [...job.files, ...this.pending];
    this.drawPending();
    if (job.replyTo && !this.replyTo) this.setReply(job.replyTo);
  }

  /** Encrypts and uploads files (once each, even across retries); throws on the first failure. */
  async upload(files) {
    const done = [];
    for (const item of files) {
      if (!item.uploaded) {
        item.failed = false;
        try {
          item.uploaded = await uploadFile(item.file, (fraction, phase) => {
            item.progress = `${phase} ${Math.round(fraction * 100)}%`;
            this.drawPending([item]);
          });
        } catch (failure) {
          item.failed = true;
          item.progress = "not sent";
          const hint = failure.status === 413 ? " (the file is larger than this server accepts)" : "";
          throw new Error(`Could not upload ${item.file.name}: ${failure.message}${hint}`);
        }
      }
      done.push(item.uploaded);
    }
    return done;
  }

  /** After the first message sent: offer desktop notifications once (a click asks the browser). */
  offerNotifications() {
    import("../notify.js").then(({ notifier }) => {
      if (!notifier.shouldOffer || !this.offer.hidden) return;
      this.offer.hidden = false;
      const close = () => {
        this.offer.hidden = true;
        notifier.setPref("offered", true);
      };
      mount(this.offer, icon("bell", 16), h("span", {}, " Get a notification for direct messages and mentions?"),
        h("button", { type: "button", class: "small", id: "notify-enable", onclick: () => notifier.enableDesktop().then(close, (e) => {
          close();
          this.chat.flash(e.message, true);
        }) }, "Turn on"),
        h("button", { type: "button", class: "small secondary", id: "notify-later", onclick: close }, "Not now"));
    });
  }

  // ---- files -----------------------------------------------------------------------------------

  addFiles(files) {
    if (this.attachButton.disabled) return;
    for (const file of files) {
      if (this.pending.length >= MAX_FILES) {
        this.chat.flash(`At most ${MAX_FILES} files per message.`, true);
        break;
      }
      this.pending.push({ file, id: crypto.randomUUID(), progress: "", failed: false });
    }
    this.drawPending();
    this.focus();
  }

  drawPending(sending = []) {
    const items = [...this.pending, ...sending.filter((s) => !this.pending.includes(s))];
    this.pendingList.hidden = !items.length;
    mount(this.pendingList, items.map((item) => h("li", { class: `pending-file${item.failed ? " failed" : ""}`, dataset: { name: item.file.name } },
      h("span", { class: "file-name" }, item.file.name || "file"),
      h("span", { class: "muted small" }, ` ${formatSize(item.file.size)}`),
      item.progress ? h("span", { class: "muted small progress" }, ` ${item.progress}`) : null,
      this.pending.includes(item) ? h("button", { type: "button", class: "icon-button small", "aria-label": `Remove ${item.file.name}`, onclick: () => {
        this.pending = this.pending.filter((p) => p !== item);
        this.drawPending();
      } }, icon("close", 14)) : null)));
  }

  wireDrop(root) {
    const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
    root.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      root.classList.add("dragging");
    });
    root.addEventListener("dragleave", (e) => {
      if (e.target === root || !root.contains(e.relatedTarget)) root.classList.remove("dragging");
    });
    root.addEventListener("drop", (e) => {
      root.classList.remove("dragging");
      if (!e.dataTransfer?.files?.length) return;
      e.preventDefault();
      this.addFiles([...e.dataTransfer.files]);
    });
  }

  // ---- link preview while composing -------------------------------------------------------------

  schedulePreview = debounce(() => this.updatePreview(), 600);

  async updatePreview() {
    if (this.model.destroyed) return;
    const url = firstUrl(this.input.value);
    if (!url || this.dismissed.has(url)) {
      if (!url || this.draft?.url === url) this.setDraft(null);
      return;
    }
    if (this.draft?.url === url) return;
    this.setDraft({ url, data: null, loading: true });
    try {
      const data = cleanPreview(await api("GET", `/link-preview?url=${encodeURIComponent(url)}`));
      if (this.draft?.url === url) this.setDraft({ url, data });
    } catch {
      if (this.draft?.url === url) this.setDraft({ url, data: null }); // no preview for this one
    }
  }

  setDraft(draft) {
    this.draft = draft;
    this.previewBox.hidden = !draft?.loading && !draft?.data;
    if (this.previewBox.hidden) {
      this.previewBox.replaceChildren();
      return;
    }
    mount(this.previewBox, draft.loading ? h("span", { class: "muted small" }, "Loading link preview…") : previewCard(draft.data),
      h("button", { type: "button", class: "icon-button small", "aria-label": "Remove the link preview", onclick: () => {
        this.dismissed.add(draft.url);
        this.setDraft(null);
      } }, icon("close", 14)));
  }

  // ---- @mentions ---------------------------------------------------------------------------------

  async loadPeople() {
    const { serverId, channelId } = this.chat;
    const list = serverId ? await loadServerMembers(serverId).catch(() => []) : store.dmMembers.get(channelId) || [];
    this.people = list.filter((m) => m.user_id !== store.me.id).map((m) => ({ id: m.user_id, username: m.username, name: m.nickname || m.display_name || m.username }));
  }

  /** username (lower case) -> {id, label} for compose(): which @names become mention nodes. */
  mentionables() {
    const map = new Map(this.people.map((p) => [p.username.toLowerCase(), { id: p.id, label: p.username }]));
    if (this.chat.serverId) map.set("everyone", { id: "everyone", label: "everyone" });
    return map;
  }

  suggest() {
    const caret = this.input.selectionStart;
    const match = MENTION_AT_CARET.exec(this.input.value.slice(0, caret));
    if (!match) return this.closeSuggestions();
    const q = match[2].toLowerCase();
    const found = this.people.filter((p) => p.username.toLowerCase().startsWith(q) || p.name.toLowerCase().startsWith(q)).slice(0, 8);
    if (this.chat.serverId && "everyone".startsWith(q)) found.push({ id: "everyone", username: "everyone", name: "Notify everyone here" });
    if (!found.length) return this.closeSuggestions();
    this.suggestions = { found, index: 0, start: caret - q.length - 1 };
    this.drawSuggestions();
    return undefined;
  }

  drawSuggestions() {
    const { found, index } = this.suggestions;
    this.mentionList.hidden = false;
    mount(this.mentionList, found.map((p, i) => h("li", { role: "option", id: `mention-${i}`, class: "mention-option", "aria-selected": String(i === index), dataset: { username: p.username },
      onmousedown: (e) => {
        e.preventDefault();
        this.pickSuggestion(i);
      } }, h("strong", {}, `@${p.username}`), p.name !== p.username ? h("span", { class: "muted small" }, ` ${p.name}`) : null)));
    this.input.setAttribute("aria-activedescendant", `mention-${index}`);
  }

  suggestKey(event) {
    const s = this.suggestions;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      s.index = (s.index + (event.key === "ArrowDown" ? 1 : s.found.length - 1)) % s.found.length;
      this.drawSuggestions();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.pickSuggestion(s.index);
    } else if (event.key === "Escape") {
      this.closeSuggestions();
    } else return false;
    event.preventDefault();
    return true;
  }

  pickSuggestion(index) {
    const { found, start } = this.suggestions;
    const caret = this.input.selectionStart;
    this.input.setSelectionRange(start, caret);
    this.insert(`@${found[index].username} `);
    this.closeSuggestions();
  }

  closeSuggestions() {
    this.mentionList.hidden = true;
    this.input.removeAttribute("aria-activedescendant");
  }
}
