// DM and group calls (websocket.md 3.12): ringing over the socket (CallInvite / CallRinging /
// CallAccept / CallAccepted / CallReject / CallRejected / CallEnd / CallEnded), and the audio
// through the same voice session as voice channels (POST /voice/{dm channel id}/join).
//
// One call at a time. `calls.state` is null or
//   {channelId, phase: "calling" | "incoming" | "joinable" | "connected", who, note}
// and "change" fires whenever it changes.

import { voice } from "./voice.js";

class Calls extends EventTarget {
  constructor() {
    super();
    this.state = null;
    this.realtime = null;
    this.me = null;
    this.title = () => "";
    this.noteTimer = null;
  }

  emit() {
    this.dispatchEvent(new Event("change"));
  }

  set(state) {
    this.state = state;
    this.emit();
  }

  /** A short message after a call ended or was declined, cleared after a few seconds. */
  note(text) {
    clearTimeout(this.noteTimer);
    this.set({ phase: "ended", note: text, channelId: null });
    this.noteTimer = setTimeout(() => this.state?.phase === "ended" && this.set(null), 5000);
  }

  start(channelId) {
    if (this.state && this.state.phase !== "ended") throw new Error("You are already in a call.");
    if (!this.realtime?.send("CallInvite", { channel_id: channelId })) throw new Error("Calls need the live connection.");
    this.set({ channelId, phase: "calling", who: this.title(channelId) });
  }

  accept() {
    const call = this.state;
    if (!call) return;
    if (!this.realtime?.send("CallAccept", { channel_id: call.channelId })) {
      this.set({ ...call, note: "Answering needs the live connection." });
    }
  }

  decline() {
    const call = this.state;
    if (!call) return;
    if (call.phase === "incoming") this.realtime?.send("CallReject", { channel_id: call.channelId });
    this.set(null);
  }

  hangUp() {
    const call = this.state;
    if (!call?.channelId) return;
    this.realtime?.send("CallEnd", { channel_id: call.channelId });
    this.finish(call.channelId, "Call ended.");
  }

  finish(channelId, text) {
    if (voice.inChannel(channelId)) voice.leave();
    this.note(text);
  }

  async joinAudio(channelId, label) {
    try {
      await voice.join(channelId, { label: `Call with ${label}` });
    } catch (failure) {
      if (this.state?.channelId === channelId) this.set({ ...this.state, note: failure.message });
    }
  }

  // ---- socket events (routed here by dispatch.js) -------------------------------------------------

  /** Signed in as `me`: calls are rung over `realtime`; `title(channelId)` names the conversation. */
  attach(realtime, me, title) {
    this.realtime = realtime;
    this.me = me;
    this.title = title;
  }

  ringing(e) {
    if (this.state && this.state.phase !== "ended") return; // busy: the ring times out for the caller
    this.set({ channelId: e.channel_id, phase: "incoming", who: e.caller_name || "Someone", callerId: e.caller_id });
  }

  accepted(e) {
    const call = this.state;
    if (!call || call.channelId !== e.channel_id) return;
    if (e.user_id === this.me || call.phase === "calling") {
      if (call.phase !== "connected") {
        this.set({ ...call, phase: "connected" });
        this.joinAudio(e.channel_id, call.who);
      }
    } else if (call.phase === "incoming") {
      // Someone else in the group answered: the ring is over, but the call can still be joined.
      this.set({ ...call, phase: "joinable" });
    }
  }

  rejected(e) {
    const call = this.state;
    if (!call || call.channelId !== e.channel_id) return;
    if (call.phase === "calling") this.note(e.user_id === this.me ? "Call cancelled." : "Call declined.");
    else if (call.phase === "incoming" || call.phase === "joinable") this.set(null);
  }

  ended(e) {
    const call = this.state;
    if (!call || call.channelId !== e.channel_id) return;
    this.finish(e.channel_id, call.phase === "calling" ? "No answer." : "Call ended.");
  }

  /** An Error no send was waiting for: while ringing, one about calls is why the call failed. */
  serverError(message) {
    if (this.state?.phase === "calling" && /call|DMs/i.test(message)) this.note(message);
  }

  stop() {
    clearTimeout(this.noteTimer);
    this.state = null;
    this.realtime = null;
  }
}

export const calls = new Calls();
