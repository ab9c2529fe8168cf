// Notifications and mentions. The server cannot read messages, so mentions are found here, after
// decryption: a `mention` node naming me (or @everyone) in the rich text, or `@username` in the
// plain text. Kept per channel until it is read; shown as badges (channel, server icon), in the
// tab title (with the unread count), as desktop notifications (DMs and mentions, unless muted; the
// permission is asked only when the user clicks to turn them on) and as an optional sound.
// Preferences live in this browser: localStorage["haven.notify.<user id>"].

import { mentionsMe } from "./markdown.js";
import { store } from "./store.js";
import { decodeMeta } from "./util.js";

export { mentionsMe };

const BASE_TITLE = "Haven";

class Notifier extends EventTarget {
  constructor() {
    super();
    this.mentions = new Map(); // channel id -> unread mentions
    this.prefs = { desktop: false, sound: false, muted: {} };
    this.userId = null;
  }

  start(me) {
    this.userId = me.id;
    this.mentions.clear();
    try {
      this.prefs = { desktop: false, sound: false, muted: {}, ...JSON.parse(localStorage.getItem(this.key()) || "{}") };
    } catch {
      /* unreadable preferences: the defaults */
    }
    this.offs?.forEach((off) => off());
    this.offs = [store.on("readstates", () => this.updateTitle())];
    this.updateTitle();
  }

  stop() {
    this.offs?.forEach((off) => off());
    this.offs = [];
    this.mentions.clear();
    document.title = BASE_TITLE;
  }

  key() {
    return `haven.notify.${this.userId}`;
  }

  save() {
    localStorage.setItem(this.key(), JSON.stringify(this.prefs));
    this.emit();
  }

  emit() {
    this.dispatchEvent(new Event("change"));
    this.updateTitle();
  }

  // ---- preferences ------------------------------------------------------------------------------

  isMuted(id) {
    return Boolean(id && this.prefs.muted[id]);
  }

  /** A channel is muted when it is, or when its server is. */
  channelMuted(channel) {
    return this.isMuted(channel?.id) || this.isMuted(channel?.server_id);
  }

  setMuted(id, muted) {
    if (muted) this.prefs.muted[id] = true;
    else delete this.prefs.muted[id];
    this.save();
  }

  get permission() {
    return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
  }

  /** Desktop notifications are on: the user turned them on here and the browser allows them. */
  get desktopOn() {
    return this.prefs.desktop && this.permission === "granted";
  }

  /** Called from a click (browsers only ask for permission from a user gesture). */
  async enableDesktop() {
    if (this.permission === "unsupported") throw new Error("This browser has no desktop notifications.");
    const answer = this.permission === "granted" ? "granted" : await Notification.requestPermission();
    this.prefs.desktop = answer === "granted";
    this.save();
    if (!this.prefs.desktop) throw new Error("The browser did not allow notifications (see the site settings of your browser).");
  }

  setPref(name, value) {
    this.prefs[name] = value;
    this.save();
  }

  /** Should the app offer to turn desktop notifications on (once, until dismissed)? */
  get shouldOffer() {
    return this.permission !== "unsupported" && this.permission !== "denied" && !this.prefs.desktop && !this.prefs.offered;
  }

  // ---- counts -------------------------------------------------------------------------------------

  mentionCount(channelId) {
    return channelId === store.openChannelId && !document.hidden ? 0 : this.mentions.get(channelId) || 0;
  }

  serverMentions(serverId) {
    return (store.channels.get(serverId) || []).reduce((sum, c) => sum + this.mentionCount(c.id), 0);
  }

  read(channelId) {
    if (this.mentions.delete(channelId)) this.emit();
  }

  /** Unread messages of channels that are not muted, for the tab title. */
  unreadTotal() {
    let total = 0;
    for (const [channelId, state] of store.readStates) {
      const channel = store.channel(channelId);
      if (!channel || this.channelMuted(channel)) continue;
      if (channelId === store.openChannelId && !document.hidden) continue;
      total += state.unread_count || 0;
    }
    return total;
  }

  updateTitle() {
    const count = this.unreadTotal();
    const title = count ? `(${count > 99 ? "99+" : count}) ${BASE_TITLE}` : BASE_TITLE;
    if (document.title !== title) document.title = title;
  }

  // ---- incoming messages (from dispatch.js) -----------------------------------------------------------

  async newMessage(m) {
    if (m.message_type === "system" || !store.crypto || !this.userId) return;
    const channel = store.channel(m.channel_id);
    const result = await store.crypto.decrypt(m).catch(() => null);
    if (result?.status !== "ok" || result.senderId === store.me.id) return;
    const mention = mentionsMe(result.content, store.me);
    const reading = m.channel_id === store.openChannelId && !document.hidden;
    if (mention && !reading) {
      this.mentions.set(m.channel_id, (this.mentions.get(m.channel_id) || 0) + 1);
      this.emit();
    }
    const isDm = channel && !channel.server_id;
    if (!(isDm || mention) || reading || this.channelMuted(channel)) return;
    if (this.desktopOn) this.show(m, channel, result).catch(() => {}); // best effort
    if (this.prefs.sound) this.beep();
  }

  async show(m, channel, result) {
    const { nameResolver } = await import("./people.js");
    const names = await nameResolver(channel?.server_id || null, m.channel_id);
    const author = (await names.resolve(result.senderId)) || "Someone";
    const where = channel?.server_id ? ` in #${decodeMeta(channel.encrypted_meta, "channel").name}` : "";
    const text = String(result.content.text ?? "").slice(0, 140) || "Sent an attachment";
    const note = new Notification(`${author}${where}`, { body: text, tag: m.id });
    note.addEventListener("click", () => {
      window.focus();
      location.hash = channel?.server_id ? `#/channels/${channel.server_id}/${channel.id}` : `#/channels/@me/${m.channel_id}`;
      note.close();
    });
  }

  /** A short two-tone chime made on the spot (no sound file to load). */
  beep() {
    try {
      this.audio ??= new AudioContext();
      const ctx = this.audio;
      const gain = ctx.createGain();
      gain.gain.setValueAtTime(0.08, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.35);
      gain.connect(ctx.destination);
      [880, 1320].forEach((freq, i) => {
        const osc = ctx.createOscillator();
        osc.frequency.value = freq;
        osc.connect(gain);
        osc.start(ctx.currentTime + i * 0.12);
        osc.stop(ctx.currentTime + 0.35);
      });
      this.beeps = (this.beeps || 0) + 1;
    } catch {
      /* no audio output: the sound is optional */
    }
  }
}

export const notifier = new Notifier();
