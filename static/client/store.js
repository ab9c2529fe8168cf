// Shared client state for the signed-in session: who I am, my servers and their channels, DM
// channels, unread counts, and the crypto and realtime services. Views read from here and listen
// to `store.bus` for "servers", "channels:<serverId>", "dms", "friends", "readstates",
// "timeouts" and "keys:<channelId>" changes. Realtime events and the polling fallback both land
// here. Other concerns keep their own stores: emojis.js (custom emojis), report-outcomes.js (what
// the reporter hears), conversation.js, notify.js, voice.js and calls.js.

import { api, session } from "./api.js";
import { E2ee } from "./e2ee/service.js";
import { customEmojis } from "./emojis.js";
import { calls } from "./calls.js";
import { wireRealtime } from "./dispatch.js";
import { Realtime } from "./realtime.js";
import { decodeMeta } from "./util.js";
import { notifier } from "./notify.js";
import { reportOutcomes } from "./report-outcomes.js";
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
    customEmojis.reset();
    reportOutcomes.stop();
    this.status = localStorage.getItem("haven.status") || "online";
    this.pollTick = 0;
    this.renewing = null; // a password change signing in again (sessionEnded waits for it)
    this.pendingRequests = 0; // incoming friend requests and message requests (a badge)
    this.timeouts = new Map(); // server id -> until when I am timed out there
    this.leaving = new Set(); // servers I am leaving myself (no "you were removed" notice)
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
    notifier.start(this.me);
    reportOutcomes.start({ userId: this.me.id, placeName: (id) => this.placeName(id), tell: (text) => this.tell(text) });
    wireRealtime(this.realtime);
    this.realtime.onPoll(() => this.poll());
    this.realtime.start();
    await Promise.all([this.loadServers(), this.loadDms(), this.loadReadStates()]);
    this.loadRequestCount().catch(() => {});
    reportOutcomes.catchUp().catch(() => {});
  }

  /** How many friend and message requests wait for an answer (the Friends badge). */
  async loadRequestCount() {
    const [friends, requests] = await Promise.all([api("GET", "/friends?limit=100"), api("GET", "/dm/requests")]);
    this.countRequests(friends, requests);
  }

  countRequests(friends, requests) {
    const count = friends.filter((f) => f.status === "pending" && f.is_incoming).length + requests.length;
    if (count !== this.pendingRequests) {
      this.pendingRequests = count;
      this.emit("requests");
      this.emit("dms");
    }
  }

  stop() {
    notifier.stop();
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
      this.friendsChanged();
    }
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

  /** "#general in Daily", "the group Trip", or "a conversation" (one no longer listed). */
  placeName(channelId) {
    const channel = this.channel(channelId);
    if (!channel) return "a conversation";
    if (!channel.server_id) return channel.channel_type === "group" ? `the group ${this.dmTitle(channel)}` : `your conversation with ${this.dmTitle(channel)}`;
    const server = this.server(channel.server_id);
    const name = `#${decodeMeta(channel.encrypted_meta, "channel").name}`;
    return server ? `${name} in ${this.serverName(server)}` : name;
  }

  unread(channelId) {
    if (channelId === this.openChannelId) return 0;
    return this.readStates.get(channelId)?.unread_count || 0;
  }

  // ---- realtime (called by dispatch.js) ----------------------------------------------------------

  newMessage(m) {
    if (m.channel_id !== this.openChannelId || document.hidden) {
      const state = this.readStates.get(m.channel_id) || { channel_id: m.channel_id, unread_count: 0 };
      state.unread_count += 1;
      state.last_message_at = m.timestamp;
      this.readStates.set(m.channel_id, state);
      this.emit("readstates");
    }
    if (m.message_type === "system") {
      this.crypto.invalidate(m.channel_id); // membership changed
      this.emit(`group:${m.channel_id}`);
    }
    if (!this.channel(m.channel_id)) this.loadDms().catch(() => {}); // first message of a new DM
  }

  /** The channel was read (here, or on another device: ReadStateUpdated). */
  markedRead(channelId) {
    const state = this.readStates.get(channelId);
    if (state) state.unread_count = 0;
    notifier.read(channelId);
    this.emit("readstates");
  }

  /** A group DM was renamed (ChannelUpdated, a port addition): its new meta, for every view. */
  channelUpdated({ channel_id: channelId, encrypted_meta: meta }) {
    const channel = this.dms.find((c) => c.id === channelId);
    if (!channel || typeof meta !== "string") return;
    channel.encrypted_meta = meta;
    this.emit("dms");
  }

  serverUpdated(serverId) {
    this.loadChannels(serverId).catch(() => this.loadServers());
    this.refreshServer(serverId);
  }

  /** Someone joined or left a server (me included: kicked, banned, the server deleted). */
  membershipChanged(type, { server_id: serverId, user_id: userId }) {
    const server = this.server(serverId);
    if (server && userId === this.me.id && (type === "MemberRemoved" || type === "MemberBanned") && !this.leaving.delete(serverId)) {
      this.tell(type === "MemberBanned" ? `You were banned from ${this.serverName(server)}.` : `You were removed from ${this.serverName(server)}.`);
    } else if (server && type === "ServerDeleted" && server.owner_id !== this.me.id) {
      this.tell(`${this.serverName(server)} was deleted by its owner.`);
    }
    if (type === "ServerDeleted" || userId === this.me.id) this.loadServers().catch(() => {});
    this.crypto.invalidate();
    this.emit(`members:${serverId}`);
  }

  memberChanged(type, e) {
    if (e.user_id === this.me.id) {
      if (type === "MemberTimedOut") this.setMyTimeout(e.server_id, e.timed_out_until, true);
      else this.refreshServer(e.server_id);
    }
    this.emit(`members:${e.server_id}`);
  }

  /** Until when I am timed out in a server (null: not); `announce` says so to the user. */
  setMyTimeout(serverId, until, announce = false) {
    const active = until && Date.parse(until) > Date.now() ? until : null;
    if ((this.timeouts.get(serverId) || null) === active) return;
    if (active) this.timeouts.set(serverId, active);
    else this.timeouts.delete(serverId);
    const server = this.server(serverId);
    if (announce && server) {
      this.tell(active ? `You were timed out in ${this.serverName(server)} until ${new Date(active).toLocaleString()}: you can read, but not send messages or react.`
        : `Your timeout in ${this.serverName(server)} was lifted.`);
    }
    this.emit("timeouts");
  }

  timedOutUntil(serverId) {
    const until = serverId && this.timeouts.get(serverId);
    return until && Date.parse(until) > Date.now() ? until : null;
  }

  /** A notice for the user (moderation of their own account), shown by the shell. */
  tell(text) {
    this.bus.dispatchEvent(new CustomEvent("tell", { detail: { text } }));
  }

  friendsChanged() {
    this.emit("friends");
    this.loadRequestCount().catch(() => {});
  }

  /** The socket was closed for this session: if the API refuses it too, api.js signs out. */
  async sessionEnded() {
    await this.renewing; // a password change signs in again first (views/account.js)
    api("GET", "/auth/sessions").then(() => this.realtime?.reconnectNow(), () => {});
  }

  setStatus(status) {
    this.status = status;
    localStorage.setItem("haven.status", status);
    this.realtime?.send("SetStatus", { status });
    this.emit("link");
  }
}

export const store = new Store();
