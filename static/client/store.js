// Shared client state for the signed-in session: who I am, my servers and their channels, DM
// channels, unread counts, and the crypto and realtime services. Views read from here and listen
// to `store.bus` for "servers", "channels:<serverId>", "dms", "friends", "readstates" and
// "keys:<channelId>" changes. Realtime events and the polling fallback both land here.

import { api, session } from "./api.js";
import { E2ee } from "./e2ee/service.js";
import { calls } from "./calls.js";
import { Realtime } from "./realtime.js";
import { decodeMeta } from "./util.js";
import { voice } from "./voice.js";

class Store {
  constructor() {
    this.bus = new EventTarget();
    this.reset();
  }

  reset() {
    this.me = null;
    this.servers = [];
    this.channels = new Map(); // server id -> ChannelResponse[]
    this.categories = new Map(); // server id -> CategoryResponse[]
    this.dms = [];
    this.dmMembers = new Map(); // channel id -> ChannelMemberInfo[]
    this.readStates = new Map(); // channel id -> {unread_count, last_message_at}
    this.emojis = new Map(); // server id -> Promise<CustomEmojiResponse[]>
    this.emojiLists = new Map(); // server id -> CustomEmojiResponse[] (once loaded)
    this.imageVersions = new Map(); // image URL -> cache-busting suffix after this device changed it
    this.features = new Set((document.querySelector("meta[name=haven-features]")?.content || "").split(/\s+/).filter(Boolean));
    this.openChannelId = null;
    this.crypto = null;
    this.running = false;
    this.realtime?.stop();
    this.realtime = null;
    if (this.onVisible) document.removeEventListener("visibilitychange", this.onVisible);
    if (voice.session) voice.leave();
    voice.stop();
    calls.stop();
    this.status = localStorage.getItem("haven.status") || "online";
    this.pollTick = 0;
  }

  emit(name) {
    this.bus.dispatchEvent(new Event(name));
  }

  on(name, fn) {
    this.bus.addEventListener(name, fn);
    return () => this.bus.removeEventListener(name, fn);
  }

  get started() {
    return this.me !== null;
  }

  /**
   * Signs the app in: loads this browser's keys first. Returns "keys" when it has none for the
   * account (the caller offers restore or new keys, then calls run()), else starts everything.
   */
  async start() {
    await this.ensureCrypto();
    if (this.crypto.status === "missing") return "keys";
    await this.run();
    return "ready";
  }

  /** The signed-in user's encryption service, its keys loaded (also used by Settings alone). */
  async ensureCrypto() {
    if (!this.crypto) {
      this.me = session.load().user;
      const crypto = new E2ee(this.me);
      this.crypto = crypto;
      this.cryptoLoading = crypto.load();
    }
    await this.cryptoLoading;
    return this.crypto;
  }

  async run() {
    if (this.running) return;
    this.running = true;
    this.crypto.addEventListener("status", () => this.emit("link"));
    // Back to this tab: were this browser's keys replaced elsewhere meanwhile? (At most every 2 min.)
    this.onVisible = () => !document.hidden && this.crypto?.checkIdentity().catch(() => {});
    document.addEventListener("visibilitychange", this.onVisible);
    this.crypto.addEventListener("keychange", (e) => this.bus.dispatchEvent(new CustomEvent("keychange", { detail: e.detail })));
    this.realtime = new Realtime({ token: () => session.load()?.access_token });
    voice.me = this.me.id;
    this.wireRealtime();
    calls.wire(this.realtime, this.me.id, (channelId) => {
      const channel = this.channel(channelId);
      return channel ? this.dmTitle(channel) : "a conversation";
    });
    this.realtime.onPoll(() => this.poll());
    this.realtime.start();
    await Promise.all([this.loadServers(), this.loadDms(), this.loadReadStates()]);
  }

  stop() {
    this.reset();
  }

  // ---- loading ----------------------------------------------------------------------------

  async loadServers() {
    this.servers = await api("GET", "/servers");
    for (const [id] of this.channels) {
      if (!this.servers.some((s) => s.id === id)) this.channels.delete(id);
    }
    this.emit("servers");
    await Promise.all(this.servers.map((s) => this.loadChannels(s.id).catch(() => {})));
  }

  async refreshServer(serverId) {
    try {
      const server = await api("GET", `/servers/${serverId}`);
      this.servers = this.servers.map((s) => (s.id === serverId ? server : s));
      this.emit("servers");
    } catch {
      await this.loadServers();
    }
  }

  async loadChannels(serverId) {
    const [channels, categories] = await Promise.all([
      api("GET", `/servers/${serverId}/channels`),
      api("GET", `/servers/${serverId}/categories`),
    ]);
    this.channels.set(serverId, channels);
    this.categories.set(serverId, categories);
    this.crypto?.remember(channels);
    this.realtime?.watch(channels.map((c) => c.id));
    this.crypto?.invalidate();
    this.emit(`channels:${serverId}`);
    return channels;
  }

  async loadDms() {
    this.dms = await api("GET", "/dm");
    this.crypto?.remember(this.dms);
    this.realtime?.watch(this.dms.map((c) => c.id));
    await Promise.all(
      this.dms
        .filter((c) => !this.dmMembers.has(c.id))
        .map(async (c) => {
          this.dmMembers.set(c.id, await api("GET", `/channels/${c.id}/members`).catch(() => []));
        }),
    );
    this.emit("dms");
  }

  async loadReadStates() {
    const states = await api("GET", "/channels/read-states");
    this.readStates = new Map(states.map((s) => [s.channel_id, s]));
    this.emit("readstates");
  }

  /** Fallback while the socket is down: unread counts often, lists now and then. */
  async poll() {
    this.pollTick += 1;
    await this.loadReadStates();
    if (this.pollTick % 3 === 0) {
      await Promise.all([this.loadServers(), this.loadDms()]);
      this.emit("friends");
    }
  }

  /** The server's custom emojis (loaded once, then kept live by EmojiCreated / EmojiDeleted). */
  loadEmojis(serverId, fresh = false) {
    if (fresh || !this.emojis.has(serverId)) {
      const promise = api("GET", `/servers/${serverId}/emojis`).then((list) => {
        this.emojiLists.set(serverId, list);
        this.emit(`emojis:${serverId}`);
        return list;
      });
      this.emojis.set(serverId, promise);
      promise.catch(() => this.emojis.delete(serverId));
    }
    return this.emojis.get(serverId);
  }

  /** name -> emoji of a server, from what is loaded (empty until loadEmojis resolves). */
  emojiByName(serverId) {
    return new Map((this.emojiLists.get(serverId) || []).map((e) => [e.name, e]));
  }

  /** An image URL with a suffix that defeats the browser's cache after this device replaced it. */
  imageUrl(url) {
    if (!url) return null;
    const version = this.imageVersions.get(url.split("?")[0]);
    return version ? `${url}${url.includes("?") ? "&" : "?"}v=${version}` : url;
  }

  imageChanged(url) {
    this.imageVersions.set(url, Date.now().toString(36));
    this.emit("images");
  }

  // ---- lookups ------------------------------------------------------------------------------

  server(serverId) {
    return this.servers.find((s) => s.id === serverId) || null;
  }

  serverName(server) {
    return decodeMeta(server.encrypted_meta, "Unnamed server").name;
  }

  channel(channelId) {
    for (const list of this.channels.values()) {
      const found = list.find((c) => c.id === channelId);
      if (found) return found;
    }
    return this.dms.find((c) => c.id === channelId) || null;
  }

  /** A DM's title: the other participants' names (a group may carry its own name). */
  dmTitle(channel) {
    const meta = decodeMeta(channel.encrypted_meta, "");
    if (channel.channel_type === "group" && meta.name && meta.name !== "") return meta.name;
    const others = (this.dmMembers.get(channel.id) || []).filter((m) => m.user_id !== this.me.id);
    if (!others.length) return channel.channel_type === "group" ? "Group" : "Direct message";
    return others.map((m) => m.display_name || m.username).join(", ");
  }

  unread(channelId) {
    if (channelId === this.openChannelId) return 0;
    return this.readStates.get(channelId)?.unread_count || 0;
  }

  // ---- realtime -------------------------------------------------------------------------------

  wireRealtime() {
    const rt = this.realtime;
    const on = (type, fn) => rt.addEventListener(type, (e) => fn(e.detail || {}));
    on("NewMessage", (m) => {
      if (m.channel_id !== this.openChannelId) {
        const state = this.readStates.get(m.channel_id) || { channel_id: m.channel_id, unread_count: 0 };
        state.unread_count += 1;
        state.last_message_at = m.timestamp;
        this.readStates.set(m.channel_id, state);
        this.emit("readstates");
      }
      if (m.message_type === "system") this.crypto.invalidate(m.channel_id); // membership changed
      if (!this.channel(m.channel_id)) this.loadDms().catch(() => {}); // first message of a new DM
    });
    on("ReadStateUpdated", ({ channel_id: channelId }) => {
      const state = this.readStates.get(channelId);
      if (state) state.unread_count = 0;
      this.emit("readstates");
    });
    on("ServerUpdated", ({ server_id: serverId }) => {
      this.loadChannels(serverId).catch(() => this.loadServers());
      this.refreshServer(serverId);
    });
    for (const type of ["ServerDeleted", "MemberRemoved", "MemberBanned", "MemberJoined"]) {
      on(type, ({ server_id: serverId, user_id: userId }) => {
        if (type === "ServerDeleted" || userId === this.me.id) this.loadServers().catch(() => {});
        this.crypto.invalidate();
        this.emit(`members:${serverId}`);
      });
    }
    for (const type of ["MemberRolesUpdated", "MemberNicknameUpdated", "MemberTimedOut", "MemberUnbanned"]) {
      on(type, ({ server_id: serverId, user_id: userId }) => {
        if (userId === this.me.id) this.refreshServer(serverId);
        this.emit(`members:${serverId}`);
      });
    }
    on("SenderKeysUpdated", ({ channel_id: channelId }) => {
      this.crypto.fetchSenderKeys(channelId).then(() => this.emit(`keys:${channelId}`), () => {});
    });
    for (const type of ["FriendRequestReceived", "FriendRequestAccepted", "FriendRemoved"]) {
      on(type, () => this.emit("friends"));
    }
    on("DmRequestReceived", () => {
      this.loadDms().catch(() => {});
      this.emit("friends");
    });
    for (const type of ["EmojiCreated", "EmojiDeleted"]) {
      on(type, ({ server_id: serverId, emoji, emoji_id: emojiId }) => {
        const list = this.emojiLists.get(serverId);
        if (!list) return;
        const next = list.filter((e) => e.id !== (emoji?.id || emojiId)); // de-duplicated by id
        if (type === "EmojiCreated") next.push(emoji);
        this.emojiLists.set(serverId, next);
        this.emojis.set(serverId, Promise.resolve(next));
        this.emit(`emojis:${serverId}`);
      });
    }
    on("VoiceStateUpdate", (e) => voice.stateUpdate(e));
    on("CallRinging", (e) => !this.channel(e.channel_id) && this.loadDms().catch(() => {})); // a new DM
    on("VoiceMuteUpdate", (e) => voice.muteUpdate(e));
    on("PresenceUpdate", (p) => this.bus.dispatchEvent(new CustomEvent("presence", { detail: p })));
    rt.addEventListener("status", (e) => {
      if (e.detail.live && this.status !== "online") rt.send("SetStatus", { status: this.status });
      this.emit("link");
    });
  }

  setStatus(status) {
    this.status = status;
    localStorage.setItem("haven.status", status);
    this.realtime?.send("SetStatus", { status });
    this.emit("link");
  }
}

export const store = new Store();
