// Each server's custom emojis, loaded once per server and kept live by EmojiCreated /
// EmojiDeleted (routed here by dispatch.js). Views listen with `customEmojis.on(serverId, fn)`.

import { api } from "./api.js";

class CustomEmojis {
  constructor() {
    this.bus = new EventTarget();
    this.reset();
  }

  reset() {
    this.loading = new Map(); // server id -> Promise<CustomEmojiResponse[]>
    this.lists = new Map(); // server id -> CustomEmojiResponse[] (once loaded)
  }

  on(serverId, fn) {
    this.bus.addEventListener(serverId, fn);
    return () => this.bus.removeEventListener(serverId, fn);
  }

  emit(serverId) {
    this.bus.dispatchEvent(new Event(serverId));
  }

  /** The server's emojis (fetched on first use, or again when `fresh`). */
  load(serverId, fresh = false) {
    if (fresh || !this.loading.has(serverId)) {
      const promise = api("GET", `/servers/${serverId}/emojis`).then((list) => {
        this.lists.set(serverId, list);
        this.emit(serverId);
        return list;
      });
      this.loading.set(serverId, promise);
      promise.catch(() => this.loading.delete(serverId));
    }
    return this.loading.get(serverId);
  }

  /** What is loaded of a server's emojis (empty until load() resolves). */
  list(serverId) {
    return (serverId && this.lists.get(serverId)) || [];
  }

  /** name -> emoji of a server, from what is loaded. */
  byName(serverId) {
    return new Map(this.list(serverId).map((e) => [e.name, e]));
  }

  /** EmojiCreated / EmojiDeleted: applied to a list already loaded (de-duplicated by id). */
  changed(type, { server_id: serverId, emoji, emoji_id: emojiId }) {
    const list = this.lists.get(serverId);
    if (!list) return;
    const next = list.filter((e) => e.id !== (emoji?.id || emojiId));
    if (type === "EmojiCreated") next.push(emoji);
    this.lists.set(serverId, next);
    this.loading.set(serverId, Promise.resolve(next));
    this.emit(serverId);
  }
}

export const customEmojis = new CustomEmojis();
