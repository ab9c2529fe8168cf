// One conversation: history (paged upward), live or polled updates, decryption, the composer,
// replies, edits, deletes, reactions, pins and typing indicators; encrypted attachments (picked
// or dropped), link previews and GIFs inside the encrypted body; the call button of DMs and the
// voice panel of voice channels.

import { api } from "../api.js";
import { navigate } from "../app.js";
import { attachmentsOf, formatSize, isPreviewable, MAX_FILES, previewUrl, resolvedPreview, saveAttachment, uploadFile } from "../attachments.js";
import { calls } from "../calls.js";
import { h, mount } from "../dom.js";
import { avatar, emojiImage, firstUrl, link, reactionEmoji, richText } from "../media.js";
import { has, P } from "../perms.js";
import { nameResolver } from "../people.js";
import { store } from "../store.js";
import { compose, renderDoc } from "../formatting.js";
import { debounce, decodeMeta, formatTime, fromB64, fromUtf8 } from "../util.js";
import { openGifPicker } from "./gifs.js";
import { confirmModal, openModal } from "./modal.js";
import { showProfile, showSafetyNumber } from "./profile.js";
import { renderVoicePanel } from "./voice.js";

const PAGE = 50;
const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
const clip = (value, max) => (typeof value === "string" && value.trim() ? value.trim().slice(0, max) : undefined);
const isHttp = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

/** A link preview as embedded in (or read from) an encrypted body: bounded strings only. */
function cleanPreview(p) {
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

let view = null;

/** RFC 3339 timestamps with 0-9 fraction digits, made comparable as strings. */
function tsKey(iso) {
  const match = /^(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  return match ? `${match[1]}.${(match[2] || "").padEnd(9, "0")}` : iso;
}

/** Closes the open conversation (sign-out): no more requests from it. */
export function closeChat() {
  view?.destroy();
  view = null;
}

export function renderChat(container, { channelId, serverId }) {
  view?.destroy();
  view = new ChatView(container, channelId, serverId);
  view.start();
}

class ChatView {
  constructor(container, channelId, serverId) {
    this.container = container;
    this.channelId = channelId;
    this.serverId = serverId;
    this.channel = store.channel(channelId);
    this.messages = new Map();
    this.results = new Map();
    this.reactions = new Map();
    this.hasMore = true;
    this.replyTo = null;
    this.editing = null;
    this.typing = new Map();
    this.cleanup = [];
    this.renderSeq = 0;
    this.destroyed = false;
    this.names = null;
    this.pending = []; // files picked for the next message: {file, id, progress, failed}
    this.draft = null; // link preview for the composer: {url (as typed), data}
    this.dismissedPreviews = new Set();
  }

  destroy() {
    this.destroyed = true;
    this.cleanup.forEach((fn) => fn());
    if (store.openChannelId === this.channelId) store.openChannelId = null;
  }

  get server() {
    return this.serverId ? store.server(this.serverId) : null;
  }

  can(flag) {
    return !this.serverId || has(this.server?.my_permissions, flag);
  }

  // ---- setup ----------------------------------------------------------------------------------

  start() {
    if (!this.channel) {
      mount(this.container, h("div", { class: "empty" }, h("p", { class: "error", role: "alert" }, "This conversation does not exist or you cannot see it.")));
      return;
    }
    store.openChannelId = this.channelId;
    this.buildLayout();
    const rt = store.realtime;
    const on = (type, fn) => {
      const listener = (e) => fn(e.detail || {});
      rt.addEventListener(type, listener);
      this.cleanup.push(() => rt.removeEventListener(type, listener));
    };
    on("NewMessage", (m) => m.channel_id === this.channelId && this.add([m], true));
    on("MessageEdited", (e) => {
      const m = this.messages.get(e.message_id);
      if (e.channel_id !== this.channelId || !m) return;
      this.messages.set(m.id, { ...m, encrypted_body: e.encrypted_body, edited: true });
      this.render();
    });
    on("MessageDeleted", (e) => e.channel_id === this.channelId && this.remove([e.message_id]));
    on("BulkMessagesDeleted", (e) => e.channel_id === this.channelId && this.remove(e.message_ids));
    const reactions = debounce(() => this.loadReactions(), 300);
    on("ReactionAdded", (e) => e.channel_id === this.channelId && reactions());
    on("ReactionRemoved", (e) => e.channel_id === this.channelId && reactions());
    on("MessagePinned", (e) => e.channel_id === this.channelId && this.flash("Message pinned."));
    on("UserTyping", (e) => e.channel_id === this.channelId && e.user_id !== store.me.id && this.showTyping(e));
    on("Error", (e) => this.flash(e.message, true));
    this.cleanup.push(rt.onPoll(() => this.refreshLatest()));
    this.cleanup.push(store.on(`keys:${this.channelId}`, () => this.retryMissing()));
    this.cleanup.push(store.on("link", () => this.render()));
    this.cleanup.push(store.on("keychange", () => {
      this.drawKeyNotice();
      this.render();
    }));
    this.drawKeyNotice();
    this.cleanup.push(store.on("images", () => this.render()));
    if (this.serverId) this.cleanup.push(store.on(`emojis:${this.serverId}`, () => this.render()));
    const onVisible = () => !document.hidden && this.markRead();
    document.addEventListener("visibilitychange", onVisible);
    this.cleanup.push(() => document.removeEventListener("visibilitychange", onVisible));
    this.load();
  }

  title() {
    if (!this.serverId) return store.dmTitle(this.channel);
    return decodeMeta(this.channel.encrypted_meta, "channel").name;
  }

  buildLayout() {
    const meta = this.serverId ? decodeMeta(this.channel.encrypted_meta, "channel") : {};
    const label = this.serverId ? `#${this.title()}` : this.title();
    this.list = h("ol", { class: "messages", role: "log", "aria-label": `Messages in ${label}`, tabindex: "0" });
    this.notice = h("p", { class: "notice", role: "alert", hidden: true });
    this.keyNotice = h("div", { class: "key-notice", id: "key-notice", hidden: true });
    this.typingLine = h("p", { class: "typing muted small", "aria-live": "polite" });
    this.input = h("textarea", { rows: 1, "aria-label": `Message ${label}`, placeholder: `Message ${label}`, id: "composer-input", maxlength: 4000 });
    this.replyBar = h("div", { class: "reply-bar", hidden: true });
    this.fileInput = h("input", { type: "file", multiple: true, hidden: true, id: "file-input", "aria-label": "Choose files to attach" });
    this.fileInput.addEventListener("change", () => {
      this.addFiles([...this.fileInput.files]);
      this.fileInput.value = "";
    });
    const canAttach = !this.serverId || this.can(P.ATTACH_FILES);
    this.attachButton = h("button", { type: "button", class: "icon-button composer-button", id: "attach-button", "aria-label": "Attach files",
      title: canAttach ? "Attach files (encrypted in your browser)" : "You cannot attach files here", disabled: !canAttach, onclick: () => this.fileInput.click() }, "📎");
    const gifButton = store.features.has("gifs")
      ? h("button", { type: "button", class: "icon-button composer-button", id: "gif-button", "aria-label": "Send a GIF", title: "Send a GIF",
        onclick: () => openGifPicker((gif) => this.sendText(gif.url)) }, "GIF") : null;
    this.pendingList = h("ul", { class: "pending-files", hidden: true, "aria-label": "Files to send", id: "pending-files" });
    this.previewBox = h("div", { class: "preview-draft", hidden: true, id: "preview-draft", "aria-live": "polite" });
    this.composer = h("form", { class: "composer", id: "composer" }, this.replyBar, this.pendingList, this.previewBox,
      h("div", { class: "composer-row" }, this.attachButton, this.input, gifButton), this.fileInput);
    this.composer.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      } else if (event.key === "Escape" && this.replyTo) {
        this.setReply(null);
      }
    });
    this.input.addEventListener("input", () => {
      this.input.style.height = "auto";
      this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
      if (this.input.value) store.realtime.typing(this.channelId);
      this.schedulePreview();
    });
    this.list.addEventListener("scroll", () => {
      if (this.list.scrollTop < 40 && this.hasMore && !this.loadingOlder) this.loadOlder();
    });
    const pins = h("button", { type: "button", class: "secondary small", id: "pins-button", onclick: () => this.showPins() }, "📌 Pins");
    const head = h(
      "header",
      { class: "chat-head" },
      h("h2", { id: "chat-title" }, label),
      meta.topic ? h("span", { class: "topic muted" }, meta.topic) : null,
      h("span", { class: "e2ee-badge", title: "Messages here are end-to-end encrypted: the server stores only ciphertext" }, "🔒 encrypted"),
      pins,
    );
    if (!this.serverId && ["dm", "group"].includes(this.channel.channel_type) && store.features.has("voice")) {
      head.append(h("button", { type: "button", class: "small", id: "call-button", title: "Start a voice call", onclick: () => {
        try {
          calls.start(this.channelId);
        } catch (failure) {
          this.flash(failure.message, true);
        }
      } }, "📞 Call"));
    }
    if (this.channel.channel_type === "group") {
      head.append(h("button", { type: "button", class: "small secondary", id: "leave-group", onclick: () => confirmModal("Leave group", "Leave this group? You will no longer read what is sent here (the others' clients re-key without you).", "Leave", async () => {
        await api("DELETE", `/channels/${this.channelId}/leave`);
        await store.loadDms();
        navigate("#/channels/@me");
      }) }, "Leave group"));
    }
    const voice = this.channel.channel_type === "voice" ? h("div", { class: "voice-panel", id: "voice-panel" }) : null;
    if (voice) this.cleanup.push(renderVoicePanel(voice, this.channel, this.server));
    this.requestBar = this.channel.dm_status === "pending" ? this.dmRequestBar() : null;
    const root = h("div", { class: "chat", dataset: { channelId: this.channelId } }, head, voice, this.requestBar, this.keyNotice, this.notice, this.list, this.typingLine, this.composer);
    this.wireDrop(root);
    mount(this.container, root);
    if (this.serverId && !this.can(P.SEND_MESSAGES)) {
      this.input.disabled = true;
      this.attachButton.disabled = true;
      this.input.placeholder = "You do not have permission to send messages here.";
    }
    this.input.focus();
  }

  dmRequestBar() {
    const bar = h("div", { class: "request-bar" }, h("span", {}, "This conversation is a message request."));
    for (const action of ["accept", "decline"]) {
      bar.append(h("button", { type: "button", class: action === "accept" ? "small" : "small secondary", onclick: async () => {
        try {
          await api("POST", `/dm/${this.channelId}/request`, { action });
          bar.replaceChildren(h("span", {}, action === "accept" ? "Request accepted." : "Request declined."));
          store.loadDms().catch(() => {});
        } catch (failure) {
          this.flash(failure.message, true);
        }
      } }, action === "accept" ? "Accept" : "Decline"));
    }
    return bar;
  }

  /** The people of a DM or group DM whose identity key changed and who were not checked since. */
  changedContacts() {
    if (this.serverId) return [];
    const others = (store.dmMembers.get(this.channelId) || []).map((m) => m.user_id).filter((id) => id !== store.me.id);
    return others.filter((id) => store.crypto.trust.changes(id).length);
  }

  /** A lasting notice (until acknowledged or verified) that a contact's key changed. */
  drawKeyNotice() {
    const changed = this.changedContacts();
    this.keyNotice.hidden = !changed.length;
    mount(this.keyNotice, changed.map((id) => {
      const when = store.crypto.trust.changes(id).at(-1).at;
      const name = this.names?.name(id) || store.dmTitle(this.channel);
      return h("p", { class: "warn", role: "alert", dataset: { userId: id } },
        `⚠ ${name}'s security key changed on ${new Date(when).toLocaleString()}. They may have a new device or browser, or someone may be impersonating them. `,
        h("button", { type: "button", class: "small", dataset: { action: "safety-number" }, onclick: () => showSafetyNumber(id, () => this.drawKeyNotice()) }, "Compare safety numbers"), " ",
        h("button", { type: "button", class: "small secondary", dataset: { action: "dismiss-key-change" }, onclick: () => {
          store.crypto.trust.acknowledge(id);
          this.drawKeyNotice();
          this.render();
        } }, "Dismiss"));
    }));
  }

  flash(text, isError = false) {
    this.notice.hidden = false;
    this.notice.className = isError ? "notice error" : "notice";
    this.notice.textContent = text;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => { this.notice.hidden = true; }, 6000);
  }

  // ---- loading ----------------------------------------------------------------------------------

  async load() {
    mount(this.list, h("li", { class: "loading muted", role: "status" }, "Loading messages…"));
    try {
      this.names = await nameResolver(this.serverId, this.channelId);
      if (!this.serverId) store.crypto.readers(this.channelId, true).catch(() => {}); // a changed key shows at once
      if (this.serverId) await store.loadEmojis(this.serverId).catch(() => {});
      const page = await api("GET", `/channels/${this.channelId}/messages?limit=${PAGE}`);
      if (this.destroyed) return;
      this.hasMore = page.length === PAGE;
      this.add(page, false);
      this.loadReactions();
      this.markRead();
      await this.render(true);
    } catch (failure) {
      if (!this.destroyed) mount(this.list, h("li", { class: "error", role: "alert" }, failure.message));
    }
  }

  async loadOlder() {
    const oldest = this.sorted()[0];
    if (!oldest) return;
    this.loadingOlder = true;
    const before = this.list.scrollHeight - this.list.scrollTop;
    try {
      const page = await api("GET", `/channels/${this.channelId}/messages?limit=${PAGE}&before=${encodeURIComponent(oldest.timestamp)}`);
      this.hasMore = page.length === PAGE;
      this.add(page, false);
      await this.render();
      this.list.scrollTop = this.list.scrollHeight - before; // keep the reader's place
    } catch (failure) {
      this.flash(failure.message, true);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Polling (and catch-up after a reconnect): merges the newest page, edits and deletions. */
  async refreshLatest() {
    if (this.destroyed || !this.names) return;
    let page;
    try {
      page = await api("GET", `/channels/${this.channelId}/messages?limit=${PAGE}`);
    } catch (failure) {
      // Lost access (kicked, banned, channel made private or deleted): let the lists catch up.
      if (failure.status === 403 || failure.status === 404) {
        await (this.serverId ? store.loadServers() : store.loadDms());
        if (this.serverId) await store.loadChannels(this.serverId).catch(() => {});
      }
      throw failure;
    }
    if (this.destroyed) return;
    let changed = false;
    const ids = new Set(page.map((m) => m.id));
    const floor = page.length === PAGE ? tsKey(page[page.length - 1].timestamp) : "";
    for (const m of this.messages.values()) {
      if (!m.pending && tsKey(m.timestamp) >= floor && !ids.has(m.id)) {
        this.messages.delete(m.id);
        changed = true;
      }
    }
    for (const m of page) {
      const known = this.messages.get(m.id);
      if (!known || known.encrypted_body !== m.encrypted_body || known.edited !== m.edited) {
        this.messages.set(m.id, m);
        changed = true;
      }
    }
    await this.loadReactions(false);
    if (changed) {
      this.markRead();
      await this.render();
    }
  }

  async loadReactions(render = true) {
    try {
      const groups = await api("GET", `/channels/${this.channelId}/reactions`);
      const next = new Map();
      for (const g of groups) {
        if (!next.has(g.message_id)) next.set(g.message_id, []);
        next.get(g.message_id).push(g);
      }
      const changed = JSON.stringify([...next]) !== JSON.stringify([...this.reactions]);
      this.reactions = next;
      if (changed && render) this.render();
      else if (changed) this.render();
    } catch {
      /* reactions are decoration: a failure must not hide messages */
    }
  }

  markRead = debounce(async () => {
    if (this.destroyed || document.hidden) return;
    try {
      await api("PUT", `/channels/${this.channelId}/read-state`);
      const state = store.readStates.get(this.channelId);
      if (state) state.unread_count = 0;
      store.emit("readstates");
    } catch {
      /* read markers are best effort */
    }
  }, 500);

  add(list, live) {
    for (const m of list) this.messages.set(m.id, m);
    if (live) {
      this.markRead();
      this.render();
    }
  }

  remove(ids) {
    let changed = false;
    for (const id of ids) changed = this.messages.delete(id) || changed;
    if (changed) this.render();
  }

  sorted() {
    return [...this.messages.values()].sort((a, b) => (tsKey(a.timestamp) < tsKey(b.timestamp) ? -1 : 1));
  }

  async retryMissing() {
    for (const [id, result] of this.results) if (result.status === "missing") this.results.delete(id);
    await this.render();
  }

  // ---- rendering ----------------------------------------------------------------------------------

  async decrypt(message) {
    const known = this.results.get(message.id);
    if (known && known.body === message.encrypted_body && known.status !== "missing") return known;
    const result = { ...(await store.crypto.decrypt(message)), body: message.encrypted_body };
    if (result.senderId) await this.names.resolve(result.senderId);
    if (result.claimedId && result.claimedId !== result.senderId) await this.names.resolve(result.claimedId).catch(() => {});
    this.results.set(message.id, result);
    return result;
  }

  async render(scrollToEnd = false) {
    const seq = ++this.renderSeq;
    const messages = this.sorted();
    await Promise.all(messages.map((m) => this.decrypt(m)));
    if (seq !== this.renderSeq || this.destroyed) return;
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    const focusedId = document.activeElement?.closest?.(".message")?.dataset.messageId;
    const focusedAction = document.activeElement?.dataset?.action;
    const items = [];
    items.push(this.hasMore
      ? h("li", { class: "load-older" }, h("button", { type: "button", class: "secondary small", onclick: () => this.loadOlder() }, "Load older messages"))
      : h("li", { class: "history-start muted small" }, "This is the beginning of the conversation."));
    let previous = null;
    for (const m of messages) {
      const node = this.messageNode(m, this.results.get(m.id), previous);
      items.push(node);
      previous = { message: m, result: this.results.get(m.id) };
    }
    mount(this.list, ...items);
    if (focusedId && focusedAction) {
      this.list.querySelector(`[data-message-id="${CSS.escape(focusedId)}"] [data-action="${CSS.escape(focusedAction)}"]`)?.focus();
    }
    if (scrollToEnd || atBottom) this.list.scrollTop = this.list.scrollHeight;
  }

  messageNode(message, result, previous) {
    if (result.status === "system") return this.systemNode(message);
    if (result.status === "replay") return this.markerNode(message, "replay", "⚠ A copy of an earlier message was posted again (a replay): it is shown once, where it was first sent.");
    if (result.status === "plaintext") {
      const claimed = result.claimedId ? this.names.name(result.claimedId) || "someone" : "someone";
      return this.markerNode(message, "plaintext", `⚠ An unencrypted message (claiming to be from ${claimed}) was refused: Haven clients never send one.`);
    }
    const ok = result.status === "ok";
    const mine = ok && result.senderId === store.me.id;
    const author = ok ? this.names.name(result.senderId) || "Unknown user" : "Unknown sender";
    const grouped = previous && previous.result?.status === "ok" && ok && previous.result.senderId === result.senderId &&
      !previous.result.forged && !result.forged &&
      !message.reply_to_id && Date.parse(message.timestamp) - Date.parse(previous.message.timestamp) < 5 * 60_000;
    let body;
    let extras = null;
    if (ok) {
      const text = String(result.content.text ?? "");
      const rich = result.content.content_type === "tiptap" ? renderDoc(result.content.formatting) : null;
      body = rich ? h("div", { class: "body rich" }, rich) : text ? h("div", { class: "body" }, richText(text, this.serverId)) : null;
      extras = this.contentExtras(result.content);
    } else if (result.status === "missing") {
      body = h("div", { class: "body undecryptable" }, "🔒 Waiting for this message's key…");
    } else if (result.status === "other-device") {
      body = h("div", { class: "body undecryptable", dataset: { status: "other-device" } }, "🔒 This message belongs to a session of your other browser: it cannot be read here.");
    } else {
      body = h("div", { class: "body undecryptable" }, "⚠ This message could not be decrypted or verified.");
    }
    if (this.editing === message.id && ok) body = this.editor(message, result);
    const warnings = [];
    if (ok && result.forged) {
      const claimed = result.claimedId && result.claimedId !== result.senderId ? ` (claims to be ${this.names.name(result.claimedId) || "someone else"})` : "";
      warnings.push(h("span", { class: "warn small forged", dataset: { flag: "forged" }, title: `Not what it claims: ${result.forged}` }, `⚠ forged${claimed}`));
    }
    if (ok && !mine && store.crypto.trust.changes(result.senderId).length) {
      warnings.push(h("button", { type: "button", class: "warn small link", dataset: { flag: "key-changed" }, title: "This person's identity key changed: compare safety numbers",
        onclick: () => showSafetyNumber(result.senderId) }, "⚠ key changed"));
    }
    return h(
      "li",
      { class: `message${mine ? " own" : ""}${grouped ? " grouped" : ""}${ok && result.forged ? " forged" : ""}`, dataset: { messageId: message.id, status: result.status }, id: `msg-${message.id}` },
      grouped ? null : avatar({ userId: result.senderId, name: author, url: ok ? this.names.avatar(result.senderId) : null, size: 36, className: "message-avatar" }),
      grouped ? null : h("div", { class: "meta" },
        h("button", { type: "button", class: "author link", dataset: ok ? { userId: result.senderId } : undefined,
          onclick: () => ok && showProfile(result.senderId, this.serverId) }, author),
        h("time", { datetime: message.timestamp, title: new Date(message.timestamp).toLocaleString() }, formatTime(message.timestamp)), warnings),
      grouped && warnings.length ? h("div", { class: "meta" }, warnings) : null,
      message.reply_to_id ? this.replyRef(message.reply_to_id) : null,
      body,
      this.editing === message.id ? null : extras,
      message.edited ? h("span", { class: "edited muted small" }, "(edited)") : null,
      this.reactionsNode(message),
      this.actions(message, result, mine),
    );
  }

  /** A line standing for a message that is refused rather than shown. */
  markerNode(message, kind, text) {
    return h("li", { class: `message marker ${kind}`, dataset: { messageId: message.id, status: kind }, id: `msg-${message.id}` },
      h("span", { class: "warn small" }, text),
      h("time", { class: "muted small", datetime: message.timestamp }, ` ${formatTime(message.timestamp)}`));
  }

  /** Attachments and the link previews of a decrypted message. */
  contentExtras(content) {
    const files = attachmentsOf(content);
    const previews = (Array.isArray(content.link_previews) ? content.link_previews : []).slice(0, 3).map(cleanPreview).filter(Boolean);
    if (!files.length && !previews.length) return null;
    return h("div", { class: "extras" },
      files.length ? h("div", { class: "attachments" }, files.map((a) => this.attachmentNode(a))) : null,
      previews.map(previewCard));
  }

  attachmentNode(attachment) {
    const status = h("span", { class: "file-status muted small", role: "status" });
    const button = h("button", { type: "button", class: "small secondary", dataset: { action: "download" }, "aria-label": `Download ${attachment.filename}` }, "Download");
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
        this.flash(`Could not download ${attachment.filename}: ${failure.message}`, true);
      } finally {
        button.disabled = false;
      }
    });
    let image = null;
    if (isPreviewable(attachment)) {
      image = h("img", { class: "attachment-image", alt: attachment.filename, title: attachment.filename });
      const ready = resolvedPreview(attachment);
      if (ready) image.src = ready;
      else {
        image.hidden = true;
        previewUrl(attachment).then((url) => {
          if (!url) return;
          const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
          image.addEventListener("load", () => atBottom && (this.list.scrollTop = this.list.scrollHeight), { once: true });
          image.src = url;
          image.hidden = false;
        }, () => {
          status.textContent = " (preview unavailable)";
        });
      }
    }
    return h("div", { class: `attachment${attachment.spoiler ? " spoiler" : ""}`, dataset: { attachmentId: attachment.id } },
      image,
      h("div", { class: "file-card" },
        h("span", { class: "file-icon", "aria-hidden": "true" }, isPreviewable(attachment) ? "🖼" : "📄"),
        h("span", { class: "file-name" }, attachment.filename),
        h("span", { class: "file-size muted small" }, formatSize(attachment.size)),
        button, status));
  }

  systemNode(message) {
    let event = {};
    try {
      event = JSON.parse(fromUtf8(fromB64(message.encrypted_body)));
    } catch {
      /* unreadable: shown generically */
    }
    const who = event.username || "Someone";
    const texts = {
      member_joined: `${who} joined the server.`,
      member_left: `${who} left.`,
      member_kicked: `${who} was kicked.`,
      member_banned: `${who} was banned.`,
      message_pinned: `${who} pinned a message.`,
      message_unpinned: `${who} unpinned a message.`,
      call_ended: `Call ended after ${event.duration_secs ?? 0} s.`,
    };
    return h("li", { class: "message system", dataset: { messageId: message.id, event: event.event || "unknown" } },
      h("span", { class: "system-text" }, texts[event.event] || "System event."),
      h("time", { class: "muted small", datetime: message.timestamp }, ` ${formatTime(message.timestamp)}`));
  }

  replyRef(id) {
    const parent = this.messages.get(id);
    const result = parent && this.results.get(id);
    const quoted = result?.status === "ok" ? String(result.content.text ?? "") || (attachmentsOf(result.content).length ? "📎 attachment" : "") : "";
    const text = result?.status === "ok" ? `${this.names.name(result.senderId) || "Someone"}: ${quoted.slice(0, 80)}` : "an earlier message";
    return h("a", { class: "reply-ref muted small", href: `#msg-${id}`, onclick: (e) => {
      e.preventDefault();
      document.getElementById(`msg-${id}`)?.scrollIntoView({ block: "center" });
    } }, `↪ ${text}`);
  }

  reactionsNode(message) {
    const groups = this.reactions.get(message.id);
    if (!groups?.length) return null;
    const live = store.realtime.live;
    return h("div", { class: "reactions" }, groups.map((g) => {
      const mine = g.user_ids.includes(store.me.id);
      return h("button", { type: "button", class: `reaction${mine ? " mine" : ""}`, "aria-pressed": String(mine), disabled: !live,
        title: live ? (mine ? "Remove your reaction" : "React") : "Reacting needs the live connection",
        onclick: () => this.react(message.id, g.emoji, mine) }, reactionEmoji(g.emoji, this.serverId), ` ${g.count}`);
    }));
  }

  actions(message, result, mine) {
    const live = store.realtime.live;
    const canModerate = Boolean(this.serverId) && this.can(P.MANAGE_MESSAGES);
    const buttons = [];
    const add = (label, action, fn, enabled = true, why = "") => buttons.push(
      h("button", { type: "button", class: "icon-button small", dataset: { action }, "aria-label": label, title: enabled ? label : why, disabled: !enabled, onclick: fn }, label),
    );
    if (result.status === "ok") add("Reply", "reply", () => this.setReply(message));
    add("React", "react", (e) => this.reactionPicker(message, e.currentTarget), live && this.can(P.ADD_REACTIONS), "Reacting needs the live connection");
    if (mine && result.status === "ok") add("Edit", "edit", () => this.startEdit(message), live, "Editing needs the live connection");
    if (mine || canModerate) add("Delete", "delete", () => this.deleteMessage(message), live || canModerate, "Deleting needs the live connection");
    add("Pin", "pin", () => store.realtime.send("PinMessage", { channel_id: this.channelId, message_id: message.id }), live, "Pinning needs the live connection");
    return h("div", { class: "actions", role: "group", "aria-label": "Message actions" }, buttons);
  }

  reactionPicker(message, anchor) {
    const custom = this.serverId ? (store.emojiLists.get(this.serverId) || []).slice(0, 20) : [];
    const picker = h("div", { class: "picker", role: "group", "aria-label": "Pick a reaction" },
      QUICK_REACTIONS.map((emoji) => h("button", { type: "button", class: "icon-button", "aria-label": `React with ${emoji}`, onclick: () => {
        picker.remove();
        this.react(message.id, emoji, false);
      } }, emoji)),
      // A custom emoji reacts with its id (api.md 2.9: "a Unicode emoji or a custom emoji id").
      custom.map((emoji) => h("button", { type: "button", class: "icon-button", "aria-label": `React with :${emoji.name}:`, onclick: () => {
        picker.remove();
        this.react(message.id, emoji.id, false);
      } }, emojiImage(emoji, "emoji small"))));
    picker.addEventListener("keydown", (e) => e.key === "Escape" && (picker.remove(), anchor.focus()));
    anchor.after(picker);
    picker.querySelector("button").focus();
  }

  react(messageId, emoji, remove) {
    const sent = store.realtime.send(remove ? "RemoveReaction" : "AddReaction", { message_id: messageId, emoji });
    if (!sent) this.flash("Reacting needs the live connection.", true);
  }

  setReply(message) {
    this.replyTo = message;
    if (!message) {
      this.replyBar.hidden = true;
      this.input.focus();
      return;
    }
    const result = this.results.get(message.id);
    this.replyBar.hidden = false;
    mount(this.replyBar,
      h("span", {}, `Replying to ${this.names.name(result?.senderId) || "a message"}`),
      h("button", { type: "button", class: "icon-button small", "aria-label": "Cancel reply", onclick: () => this.setReply(null) }, "✕"));
    this.input.focus();
  }

  // ---- writing --------------------------------------------------------------------------------------

  async submit() {
    const source = this.input.value.trim();
    if ((!source && !this.pending.length) || this.sending) return;
    if (!(await this.confirmKeyChanges())) return;
    this.sending = true;
    this.attachButton.disabled = true;
    try {
      const { text, formatting } = compose(source);
      const content = { text };
      if (formatting) Object.assign(content, { contentType: "tiptap", formatting });
      const files = await this.uploadPending();
      if (files === null) return; // an upload failed: the text and the files stay for a retry
      if (files.length) content.attachments = files;
      const preview = this.draft?.data && source.includes(this.draft.url) ? this.draft.data : null;
      if (preview) content.linkPreviews = [preview];
      const replyTo = this.replyTo?.id;
      const sealed = await store.crypto.encrypt(this.channelId, content);
      const payload = { channel_id: this.channelId, sender_token: sealed.sender_token, encrypted_body: sealed.encrypted_body, nonce: crypto.randomUUID() };
      if (replyTo) payload.reply_to_id = replyTo;
      if (files.length) payload.attachment_ids = files.map((f) => f.id);
      this.input.value = "";
      this.input.style.height = "auto";
      this.setReply(null);
      this.pending = [];
      this.drawPending();
      this.setDraft(null);
      await this.deliver(payload);
      sealed.delivered();
    } catch (failure) {
      if (!this.input.value) this.input.value = source; // give the words back
      this.flash(failure.message || "Could not send the message.", true);
    } finally {
      this.sending = false;
      this.attachButton.disabled = Boolean(this.serverId) && (!this.can(P.ATTACH_FILES) || !this.can(P.SEND_MESSAGES));
    }
  }

  /**
   * Before sending to someone whose identity key changed after it was verified: say so, and send
   * only if the writer confirms (the verification is then dropped until checked again).
   */
  async confirmKeyChanges() {
    const ids = await store.crypto.verifiedLostIn(this.channelId).catch(() => []);
    if (!ids.length) return true;
    const names = ids.map((id) => this.names.name(id) || "someone").join(", ");
    return new Promise((resolve) => {
      const modal = confirmModal("Security key changed", `The security key of ${names} changed since you verified it. Someone may be impersonating them, or they set up a new device. Compare safety numbers before you send anything sensitive.`, "Send anyway", async () => {
        ids.forEach((id) => store.crypto.trust.acknowledge(id));
        resolve(true);
      });
      modal.dialog.addEventListener("close", () => resolve(false));
    });
  }

  /** Sends a text without touching the composer (a GIF's URL). */
  async sendText(text) {
    try {
      const sealed = await store.crypto.encrypt(this.channelId, { text });
      await this.deliver({ channel_id: this.channelId, sender_token: sealed.sender_token, encrypted_body: sealed.encrypted_body, nonce: crypto.randomUUID() });
      sealed.delivered();
    } catch (failure) {
      this.flash(failure.message || "Could not send the message.", true);
    }
  }

  // ---- attachments in the composer ----------------------------------------------------------------

  addFiles(files) {
    if (this.attachButton.disabled && !this.sending) return;
    for (const file of files) {
      if (this.pending.length >= MAX_FILES) {
        this.flash(`At most ${MAX_FILES} files per message.`, true);
        break;
      }
      this.pending.push({ file, id: crypto.randomUUID(), progress: "", failed: false });
    }
    this.drawPending();
    this.input.focus();
  }

  drawPending() {
    this.pendingList.hidden = !this.pending.length;
    mount(this.pendingList, this.pending.map((item) => h("li", { class: `pending-file${item.failed ? " failed" : ""}`, dataset: { name: item.file.name } },
      h("span", { class: "file-name" }, item.file.name || "file"),
      h("span", { class: "muted small" }, ` ${formatSize(item.file.size)}`),
      item.progress ? h("span", { class: "muted small progress" }, ` ${item.progress}`) : null,
      h("button", { type: "button", class: "icon-button small", "aria-label": `Remove ${item.file.name}`, disabled: this.sending, onclick: () => {
        this.pending = this.pending.filter((p) => p !== item);
        this.drawPending();
      } }, "✕"))));
  }

  /** Encrypts and uploads the picked files; null when one failed (its error is shown). */
  async uploadPending() {
    const done = [];
    for (const item of this.pending) {
      if (item.uploaded) {
        done.push(item.uploaded);
        continue;
      }
      item.failed = false;
      try {
        item.uploaded = await uploadFile(item.file, (fraction, phase) => {
          item.progress = `${phase} ${Math.round(fraction * 100)}%`;
          this.drawPending();
        });
        item.progress = "ready";
        this.drawPending();
        done.push(item.uploaded);
      } catch (failure) {
        item.failed = true;
        item.progress = "not sent";
        this.drawPending();
        const hint = failure.status === 413 ? " (the file is larger than this server accepts)" : "";
        this.flash(`Could not upload ${item.file.name}: ${failure.message}${hint}`, true);
        return null;
      }
    }
    return done;
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

  // ---- link preview in the composer -------------------------------------------------------------

  schedulePreview = debounce(() => this.updatePreview(), 600);

  async updatePreview() {
    if (this.destroyed) return;
    const url = firstUrl(this.input.value);
    if (!url || this.dismissedPreviews.has(url)) {
      if (!url || this.draft?.url === url) this.setDraft(null);
      return;
    }
    if (this.draft?.url === url) return;
    this.setDraft({ url, data: null, loading: true });
    try {
      const data = cleanPreview(await api("GET", `/link-preview?url=${encodeURIComponent(url)}`));
      if (this.draft?.url === url) this.setDraft(data ? { url, data } : { url, data: null });
    } catch {
      if (this.draft?.url === url) this.setDraft({ url, data: null }); // no preview for this one
    }
  }

  setDraft(draft) {
    this.draft = draft;
    const data = draft?.data;
    this.previewBox.hidden = !draft?.loading && !data;
    if (this.previewBox.hidden) {
      this.previewBox.replaceChildren();
      return;
    }
    mount(this.previewBox,
      draft.loading ? h("span", { class: "muted small" }, "Loading link preview…") : previewCard(data),
      h("button", { type: "button", class: "icon-button small", "aria-label": "Remove the link preview", onclick: () => {
        this.dismissedPreviews.add(draft.url);
        this.setDraft(null);
      } }, "✕"));
  }

  /** Over the socket when live; otherwise (or when unacknowledged) REST with the same nonce. */
  async deliver(payload) {
    if (store.realtime.live) {
      try {
        const id = await store.realtime.sendMessage(payload);
        // The echo normally arrives right after the ack; fetch if it did not.
        setTimeout(() => !this.messages.has(id) && this.refreshLatest().catch(() => {}), 1500);
        return;
      } catch (failure) {
        if (failure.fromServer) throw failure;
      }
    }
    const message = await api("POST", `/channels/${this.channelId}/messages`, { ...payload, has_attachments: Boolean(payload.attachment_ids?.length) });
    this.add([message], true);
  }

  startEdit(message) {
    this.editing = message.id;
    this.render();
  }

  editor(message, result) {
    const area = h("textarea", { class: "edit-input", "aria-label": "Edit message", rows: 2 });
    area.value = String(result.content.text ?? "");
    const save = async () => {
      const text = area.value.trim();
      const original = result.content;
      if (!text && !attachmentsOf(original).length) return;
      // An edit replaces the text; the files (and a preview whose link is still there) stay.
      const composed = compose(text);
      const next = { text: composed.text };
      if (composed.formatting) Object.assign(next, { contentType: "tiptap", formatting: composed.formatting });
      if (Array.isArray(original.attachments)) next.attachments = original.attachments;
      const previews = (original.link_previews || []).filter((p) => p?.url && text.includes(p.url));
      if (previews.length) next.linkPreviews = previews;
      try {
        const sealed = await store.crypto.encrypt(this.channelId, next);
        if (!store.realtime.send("EditMessage", { message_id: message.id, encrypted_body: sealed.encrypted_body })) {
          throw new Error("Editing needs the live connection.");
        }
        sealed.delivered();
        this.messages.set(message.id, { ...message, encrypted_body: sealed.encrypted_body, edited: true });
        this.editing = null;
        this.render();
      } catch (failure) {
        this.flash(failure.message, true);
      }
    };
    area.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        this.editing = null;
        this.render();
      }
    });
    setTimeout(() => area.focus(), 0);
    return h("div", { class: "editor" }, area, h("p", { class: "muted small" }, "Enter to save, Escape to cancel"));
  }

  deleteMessage(message) {
    confirmModal("Delete message", "Delete this message for everyone?", "Delete", async () => {
      if (store.realtime.send("DeleteMessage", { message_id: message.id })) {
        this.remove([message.id]);
        return;
      }
      // No socket: moderators can still delete through the REST bulk route.
      await api("POST", `/channels/${this.channelId}/messages/bulk-delete`, { message_ids: [message.id] });
      this.remove([message.id]);
    });
  }

  showTyping(event) {
    clearTimeout(this.typing.get(event.user_id)?.timer);
    const timer = setTimeout(() => {
      this.typing.delete(event.user_id);
      this.drawTyping();
    }, 3000);
    this.typing.set(event.user_id, { name: event.username, timer });
    this.drawTyping();
  }

  drawTyping() {
    const names = [...this.typing.values()].map((t) => t.name);
    this.typingLine.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }

  async showPins() {
    const modal = openModal("Pinned messages", h("p", { class: "muted" }, "Loading…"));
    try {
      const pins = await api("GET", `/channels/${this.channelId}/pins`);
      const items = [];
      for (const m of pins) {
        const result = await this.decrypt(m);
        items.push(h("li", { class: "pin" },
          h("strong", {}, result.status === "ok" ? this.names.name(result.senderId) || "Unknown" : "Unknown"), " ",
          h("span", {}, result.status === "ok" ? `${String(result.content.text ?? "")}${attachmentsOf(result.content).length ? " 📎" : ""}` : "(cannot decrypt)"),
          h("time", { class: "muted small" }, ` ${formatTime(m.timestamp)}`),
          store.realtime.live ? h("button", { type: "button", class: "small secondary", onclick: () => {
            store.realtime.send("UnpinMessage", { channel_id: this.channelId, message_id: m.id });
            modal.close();
          } }, "Unpin") : null));
      }
      mount(modal.body, items.length ? h("ul", { class: "pins" }, items) : h("p", { class: "muted" }, "No pinned messages."));
    } catch (failure) {
      mount(modal.body, h("p", { class: "error", role: "alert" }, failure.message));
    }
  }
}

/** A link preview card: title (a link), site, description; the image only as a link, never loaded. */
function previewCard(p) {
  return h("div", { class: "link-preview" },
    p.site_name ? h("div", { class: "site muted small" }, p.site_name) : null,
    h("div", { class: "title" }, link(p.url, p.title || p.url)),
    p.description ? h("p", { class: "description small" }, p.description) : null,
    p.image ? h("div", { class: "image-link muted small" }, "Image: ", link(p.image)) : null);
}
