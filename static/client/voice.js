// Voice: who is in which voice channel (rosters kept live by VoiceStateUpdate / VoiceMuteUpdate),
// and this browser's own voice session: Haven's join route hands out a LiveKit token, and the
// vendored LiveKit SDK (loaded on first use) carries the audio. DM calls use the same session with
// the DM's channel id.
//
// A LiveKit server that cannot be reached is not fatal: the user stays joined in Haven (others
// see them in the channel), the session shows "Could not connect to the voice server" with a
// retry, and every SDK error is caught here (the SDK's own console logging is switched off).
//
// Haven's LiveKit tokens live only minutes (LIVEKIT_TOKEN_TTL_SECS): while the session lasts the
// client renews its token (POST /voice/{id}/token, which checks the access again) at 60% of its
// lifetime, and keeps the new one for the next connection attempt (an open LiveKit connection
// gets its own refreshed tokens from the LiveKit server). A refused renewal means the access
// ended: the session leaves, and the LiveKit connection with it.
//
// Views listen on `voice` for "roster:<channelId>" and "session" events.

import { api } from "./api.js";

const SDK = "./vendor/livekit-client.esm.js";

let sdkPromise = null;
function loadSdk() {
  sdkPromise ??= import(SDK).then((lk) => {
    lk.setLogLevel("silent"); // failures surface in the UI instead
    return lk;
  });
  sdkPromise.catch(() => {
    sdkPromise = null;
  });
  return sdkPromise;
}

const RENEW_AT = 0.6; // of the token's lifetime
const RENEW_RETRY_MS = 10_000; // after a network failure

/** The lifetime of a LiveKit JWT in milliseconds (exp - nbf, so the local clock does not matter). */
export function tokenLifetimeMs(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    const lifetime = (claims.exp - (claims.nbf ?? claims.iat)) * 1000;
    return Number.isFinite(lifetime) && lifetime > 0 ? lifetime : 60_000;
  } catch {
    return 60_000;
  }
}

const personOf = (p) => ({
  user_id: p.user_id,
  name: p.display_name || p.username || "Someone",
  avatar_url: p.avatar_url || null,
  server_muted: Boolean(p.server_muted),
  server_deafened: Boolean(p.server_deafened),
});

class Voice extends EventTarget {
  constructor() {
    super();
    this.reset();
  }

  reset() {
    this.rosters = new Map(); // channel id -> Map(user id -> person)
    this.session = null; // {channelId, state, error, muted, deafened, room}
    this.me = null;
  }

  emit(name) {
    this.dispatchEvent(new Event(name));
    if (name.startsWith("roster:")) this.dispatchEvent(new Event("rosters"));
  }

  on(name, fn) {
    this.addEventListener(name, fn);
    return () => this.removeEventListener(name, fn);
  }

  // ---- rosters ------------------------------------------------------------------------------

  roster(channelId) {
    return [...(this.rosters.get(channelId)?.values() || [])];
  }

  /** Loads a roster once (the sidebar asks for every voice channel it shows). */
  ensureRoster(channelId) {
    if (this.rosters.has(channelId)) return;
    this.rosters.set(channelId, new Map());
    this.loadRoster(channelId).catch(() => {});
  }

  async loadRoster(channelId) {
    const list = await api("GET", `/voice/${channelId}/participants`);
    this.rosters.set(channelId, new Map(list.map((p) => [p.user_id, personOf(p)])));
    this.emit(`roster:${channelId}`);
    return this.roster(channelId);
  }

  /** VoiceStateUpdate {channel_id, user_id, username, joined}. */
  stateUpdate(e) {
    const roster = this.rosters.get(e.channel_id) || new Map();
    this.rosters.set(e.channel_id, roster);
    if (e.joined) {
      // Joining one channel leaves every other (the server also sends joined:false for it).
      for (const [id, other] of this.rosters) if (id !== e.channel_id && other.delete(e.user_id)) this.emit(`roster:${id}`);
      const known = roster.get(e.user_id);
      roster.set(e.user_id, { ...(known || personOf({ user_id: e.user_id })), name: e.username || known?.name || "Someone" });
      this.loadRoster(e.channel_id).catch(() => {}); // avatars and server-mute flags
    } else {
      roster.delete(e.user_id);
    }
    this.emit(`roster:${e.channel_id}`);
    if (e.user_id === this.me && !e.joined && this.session?.channelId === e.channel_id && !this.session.leaving) {
      // Taken out elsewhere (signed out on another tab, joined another channel from another device).
      this.disconnectMedia();
      this.session = null;
      this.emit("session");
    }
  }

  /** VoiceMuteUpdate {channel_id, user_id, server_muted, server_deafened}. */
  muteUpdate(e) {
    const person = this.rosters.get(e.channel_id)?.get(e.user_id);
    if (person) {
      person.server_muted = e.server_muted;
      person.server_deafened = e.server_deafened;
      this.emit(`roster:${e.channel_id}`);
    }
    if (e.user_id === this.me && this.session?.channelId === e.channel_id) {
      this.session.serverMuted = e.server_muted;
      this.session.serverDeafened = e.server_deafened;
      this.applyAudio();
      this.emit("session");
    }
  }

  // ---- this browser's session -----------------------------------------------------------------

  inChannel(channelId) {
    return this.session?.channelId === channelId;
  }

  async join(channelId, { label = "" } = {}) {
    if (this.session?.channelId === channelId && this.session.state !== "failed") return;
    if (this.session) await this.leave();
    this.session = { channelId, label, state: "joining", error: "", muted: false, deafened: false, room: null };
    this.emit("session");
    let grant;
    try {
      grant = await api("POST", `/voice/${channelId}/join`);
    } catch (failure) {
      this.session = null;
      this.emit("session");
      throw failure;
    }
    this.grant = grant;
    this.scheduleRenewal(tokenLifetimeMs(grant.token) * RENEW_AT);
    await this.connectMedia();
  }

  scheduleRenewal(delay) {
    clearTimeout(this.renewTimer);
    const session = this.session;
    this.renewTimer = setTimeout(() => this.renew(session), Math.max(1000, delay));
  }

  /** A fresh token while the session lasts; a refusal (4xx) ends the session. */
  async renew(session) {
    if (this.session !== session || session.leaving) return;
    let grant;
    try {
      grant = await api("POST", `/voice/${session.channelId}/token`);
    } catch (failure) {
      if (this.session !== session) return;
      if (failure?.status >= 400 && failure.status < 500) {
        await this.leave(); // access ended (or we were taken out): the LiveKit connection goes
      } else {
        this.scheduleRenewal(RENEW_RETRY_MS);
      }
      return;
    }
    if (this.session !== session) return;
    this.grant = grant;
    this.scheduleRenewal(tokenLifetimeMs(grant.token) * RENEW_AT);
  }

  /** Connects the audio to LiveKit; a failure leaves the session joined in Haven, marked failed. */
  async connectMedia() {
    const session = this.session;
    if (!session || !this.grant) return;
    session.state = "connecting";
    session.error = "";
    this.emit("session");
    try {
      const lk = await loadSdk();
      if (this.session !== session) return;
      const room = new lk.Room({ adaptiveStream: true, dynacast: true });
      session.room = room;
      room.on(lk.RoomEvent.TrackSubscribed, (track) => {
        if (track.kind !== "audio") return;
        const element = track.attach();
        element.dataset.voiceAudio = "";
        audioBox().append(element);
        this.applyAudio();
      });
      room.on(lk.RoomEvent.TrackUnsubscribed, (track) => track.detach().forEach((el) => el.remove()));
      room.on(lk.RoomEvent.Disconnected, () => {
        if (this.session !== session || session.leaving) return;
        session.state = "failed";
        session.error = "Disconnected from the voice server.";
        session.room = null;
        this.emit("session");
      });
      await room.connect(this.grant.url, this.grant.token);
      if (this.session !== session) {
        room.disconnect().catch(() => {});
        return;
      }
      session.state = "connected";
      this.emit("session");
      await this.applyMicrophone();
    } catch (failure) {
      if (this.session !== session) return;
      session.room?.disconnect().catch(() => {});
      session.room = null;
      session.state = "failed";
      session.error = "Could not connect to the voice server.";
      console.warn("Voice: could not connect to the voice server:", failure?.message || failure);
      this.emit("session");
    }
  }

  async applyMicrophone() {
    const session = this.session;
    const room = session?.room;
    if (!room || session.state !== "connected") return;
    try {
      await room.localParticipant.setMicrophoneEnabled(!session.muted && !session.serverMuted && !session.deafened);
      session.micError = "";
    } catch (failure) {
      session.micError = "Your microphone is not available.";
      console.warn("Voice: microphone:", failure?.message || failure);
    }
    this.emit("session");
  }

  applyAudio() {
    const deaf = Boolean(this.session?.deafened || this.session?.serverDeafened);
    for (const element of audioBox().querySelectorAll("audio")) element.muted = deaf;
  }

  toggleMute() {
    if (!this.session) return;
    this.session.muted = !this.session.muted;
    this.emit("session");
    this.applyMicrophone();
  }

  toggleDeafen() {
    if (!this.session) return;
    this.session.deafened = !this.session.deafened;
    this.applyAudio();
    this.emit("session");
    this.applyMicrophone();
  }

  disconnectMedia() {
    clearTimeout(this.renewTimer);
    const room = this.session?.room;
    if (room) room.disconnect().catch(() => {});
    for (const element of audioBox().querySelectorAll("audio")) element.remove();
  }

  async leave() {
    const session = this.session;
    if (!session) return;
    session.leaving = true;
    this.disconnectMedia();
    this.session = null;
    this.grant = null;
    this.emit("session");
    try {
      await api("POST", `/voice/${session.channelId}/leave`);
    } catch {
      /* the server also cleans up when the socket closes */
    }
  }

  /** Server mute/deafen of someone else (MUTE_MEMBERS). */
  async moderate(channelId, userId, what, value) {
    await api("PUT", `/voice/${channelId}/members/${userId}/${what}`, what === "mute" ? { muted: value } : { deafened: value });
  }

  stop() {
    this.disconnectMedia();
    this.reset();
  }
}

function audioBox() {
  let box = document.getElementById("voice-audio");
  if (!box) {
    box = document.createElement("div");
    box.id = "voice-audio";
    box.hidden = true;
    document.body.append(box);
  }
  return box;
}

export const voice = new Voice();
