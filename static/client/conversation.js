// The model of one open conversation: its messages (merged from history pages, realtime events
// and polls), their decryption results, reaction groups and who is typing; and the actions on it
// (send, edit, delete, react, pin, mark read). Views render it and listen for:
//   "change" {detail: {scroll?: "end" | "keep"}}  the messages or their state changed
//   "typing"                                      the typing line changed
//   "notice" {detail: {text, error}}              something to tell the reader
// Realtime events reach it only through dispatch.js (`conversations.get(id).apply(type, payload)`).

import { api } from "./api.js";
import { customEmojis } from "./emojis.js";
import { nameResolver } from "./people.js";
import { store } from "./store.js";
import { debounce } from "./util.js";

export const PAGE = 50;
const TYPING_MS = 3000;

/** RFC 3339 timestamps with 0-9 fraction digits, made comparable as strings. */
export function tsKey(iso) {
  const match = /^(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(iso);
  return match ? `${match[1]}.${(match[2] || "").padEnd(9, "0")}` : iso;
}

/** The open conversations by channel id (the dispatcher delivers their events). */
export const conversations = new Map();

export class Conversation extends EventTarget {
  constructor(channelId, serverId) {
    super();
    this.channelId = channelId;
    this.serverId = serverId;
    this.messages = new Map();
    this.results = new Map();
    this.reactions = new Map();
    this.pinned = new Set();
    this.typing = new Map();
    this.hasMore = true;
    this.loaded = false;
    this.names = null;
    this.destroyed = false;
    conversations.set(channelId, this);
    this.offs = [store.on(`keys:${channelId}`, () => this.retryMissing()), store.realtime.onPoll(() => this.refreshLatest())];
  }

  destroy() {
    this.destroyed = true;
    this.offs.forEach((off) => off());
    for (const t of this.typing.values()) clearTimeout(t.timer);
    if (conversations.get(this.channelId) === this) conversations.delete(this.channelId);
  }

  changed(scroll) {
    if (!this.destroyed) this.dispatchEvent(new CustomEvent("change", { detail: { scroll } }));
  }

  notice(text, error = false) {
    this.dispatchEvent(new CustomEvent("notice", { detail: { text, error } }));
  }

  // ---- loading ------------------------------------------------------------------------------

  async load() {
    this.names = await nameResolver(this.serverId, this.channelId);
    if (!this.serverId) store.crypto.readers(this.channelId, true).catch(() => {}); // a changed key shows at once
    if (this.serverId) await customEmojis.load(this.serverId).catch(() => {});
    const page = await api("GET", `/channels/${this.channelId}/messages?limit=${PAGE}`);
    if (this.destroyed) return;
    this.hasMore = page.length === PAGE;
    for (const m of page) this.messages.set(m.id, m);
    this.loaded = true;
    this.loadReactions();
    this.loadPins();
    this.markRead();
    this.changed("end");
  }

  async loadOlder() {
    const oldest = this.sorted()[0];
    if (!oldest || this.loadingOlder) return;
    this.loadingOlder = true;
    try {
      const page = await api("GET", `/channels/${this.channelId}/messages?limit=${PAGE}&before=${encodeURIComponent(oldest.timestamp)}`);
      this.hasMore = page.length === PAGE;
      for (const m of page) this.messages.set(m.id, m);
      this.changed("keep");
    } catch (failure) {
      this.notice(failure.message, true);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Polling (and catch-up after a reconnect): merges the newest page, edits and deletions. */
  async refreshLatest() {
    if (this.destroyed || !this.loaded) return;
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
      if (tsKey(m.timestamp) >= floor && !ids.has(m.id)) {
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
    await this.loadReactions();
    if (changed) {
      this.markRead();
      this.changed();
    }
  }

  async loadReactions() {
    try {
      const groups = await api("GET", `/channels/${this.channelId}/reactions`);
      const next = new Map();
      for (const g of groups) {
        if (!next.has(g.message_id)) next.set(g.message_id, []);
        next.get(g.message_id).push(g);
      }
      const changed = JSON.stringify([...next]) !== JSON.stringify([...this.reactions]);
      this.reactions = next;
      if (changed) this.changed();
    } catch {
      /* reactions are decoration: a failure must not hide messages */
    }
  }

  async loadPins() {
    try {
      this.pinned = new Set(await api("GET", `/channels/${this.channelId}/pin-ids`));
      this.changed();
    } catch {
      /* the pin buttons then offer "Pin" */
    }
  }

  reloadReactions = debounce(() => this.loadReactions(), 300);

  markRead = debounce(async () => {
    if (this.destroyed || document.hidden) return;
    try {
      await api("PUT", `/channels/${this.channelId}/read-state`);
      store.markedRead(this.channelId);
    } catch {
      /* read markers are best effort */
    }
  }, 500);

  // ---- realtime events (from dispatch.js) ------------------------------------------------------

  apply(type, e) {
    switch (type) {
      case "NewMessage":
        this.add([e]);
        break;
      case "MessageEdited": {
        const m = this.messages.get(e.message_id);
        if (m) this.update({ ...m, encrypted_body: e.encrypted_body, edited: true });
        break;
      }
      case "MessageDeleted":
        this.remove([e.message_id]);
        break;
      case "BulkMessagesDeleted":
        this.remove(e.message_ids || []);
        break;
      case "ReactionAdded":
      case "ReactionRemoved":
        this.reloadReactions();
        break;
      case "MessagePinned":
        this.pinned.add(e.message_id);
        this.notice("Message pinned.");
        this.changed();
        break;
      case "MessageUnpinned":
        this.pinned.delete(e.message_id);
        this.notice("Message unpinned.");
        this.changed();
        break;
      case "UserTyping":
        if (e.user_id !== store.me.id) this.showTyping(e);
        break;
      default:
        break;
    }
  }

  add(list) {
    for (const m of list) this.messages.set(m.id, m);
    this.markRead();
    this.changed();
  }

  update(message) {
    this.messages.set(message.id, message);
    this.changed();
  }

  remove(ids) {
    let changed = false;
    for (const id of ids) changed = this.messages.delete(id) || changed;
    if (changed) this.changed();
  }

  sorted() {
    return [...this.messages.values()].sort((a, b) => (tsKey(a.timestamp) < tsKey(b.timestamp) ? -1 : 1));
  }

  showTyping(event) {
    clearTimeout(this.typing.get(event.user_id)?.timer);
    const timer = setTimeout(() => this.stopTyping(event.user_id), TYPING_MS);
    this.typing.set(event.user_id, { name: event.username, timer });
    this.dispatchEvent(new Event("typing"));
  }

  stopTyping(userId) {
    const entry = userId && this.typing.get(userId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.typing.delete(userId);
    this.dispatchEvent(new Event("typing"));
  }

  // ---- decryption ------------------------------------------------------------------------------

  async decrypt(message) {
    const known = this.results.get(message.id);
    if (known && known.body === message.encrypted_body && known.status !== "missing") return known;
    const result = { ...(await store.crypto.decrypt(message)), body: message.encrypted_body };
    if (result.senderId) await this.names.resolve(result.senderId);
    if (result.claimedId && result.claimedId !== result.senderId) await this.names.resolve(result.claimedId).catch(() => {});
    this.results.set(message.id, result);
    return result;
  }

  /** Every message, oldest first, with its decryption result. */
  async decrypted() {
    const messages = this.sorted();
    await Promise.all(messages.map((m) => this.decrypt(m)));
    return messages.map((message) => ({ message, result: this.results.get(message.id) }));
  }

  async retryMissing() {
    for (const [id, result] of this.results) if (result.status === "missing") this.results.delete(id);
    this.changed();
  }

  /** The newest message this user wrote and can still edit (for Up in an empty composer). */
  lastOwn() {
    const own = this.sorted().filter((m) => this.results.get(m.id)?.status === "ok" && this.results.get(m.id).senderId === store.me.id);
    return own.at(-1) || null;
  }

  // ---- writing ---------------------------------------------------------------------------------

  /** Encrypts `content` and delivers it; resolves once the server has it. */
  async send(content, { replyTo = null, attachmentIds = [] } = {}) {
    const sealed = await store.crypto.encrypt(this.channelId, content);
    const payload = { channel_id: this.channelId, sender_token: sealed.sender_token, encrypted_body: sealed.encrypted_body, nonce: crypto.randomUUID() };
    if (replyTo) payload.reply_to_id = replyTo;
    if (attachmentIds.length) payload.attachment_ids = attachmentIds;
    await this.deliver(payload);
    sealed.delivered();
  }

  /** Over the socket when live; otherwise (or when unacknowledged) REST with the same nonce. */
  async deliver(payload) {
    if (store.realtime.live) {
      try {
        const id = await store.realtime.sendMessage(payload);
        this.lastSentId = id;
        // The echo normally arrives right after the ack; fetch if it did not.
        setTimeout(() => !this.messages.has(id) && this.refreshLatest().catch(() => {}), 1500);
        return;
      } catch (failure) {
        if (failure.fromServer) throw failure;
      }
    }
    const message = await api("POST", `/channels/${this.channelId}/messages`, { ...payload, has_attachments: Boolean(payload.attachment_ids?.length) });
    this.lastSentId = message.id;
    this.add([message]);
  }

  async edit(message, content) {
    const sealed = await store.crypto.encrypt(this.channelId, content);
    if (!store.realtime.send("EditMessage", { message_id: message.id, encrypted_body: sealed.encrypted_body })) {
      throw new Error("Editing needs the live connection.");
    }
    sealed.delivered();
    this.update({ ...message, encrypted_body: sealed.encrypted_body, edited: true });
  }

  async deleteMessage(message) {
    if (!store.realtime.send("DeleteMessage", { message_id: message.id })) {
      // No socket: moderators can still delete through the REST bulk route.
      await api("POST", `/channels/${this.channelId}/messages/bulk-delete`, { message_ids: [message.id] });
    }
    this.remove([message.id]);
  }

  react(messageId, emoji, remove) {
    const sent = store.realtime.send(remove ? "RemoveReaction" : "AddReaction", { message_id: messageId, emoji });
    if (!sent) this.notice("Reacting needs the live connection.", true);
  }

  pin(messageId, unpin = false) {
    const sent = store.realtime.send(unpin ? "UnpinMessage" : "PinMessage", { channel_id: this.channelId, message_id: messageId });
    if (!sent) this.notice("Pinning needs the live connection.", true);
  }
}
