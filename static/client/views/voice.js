// Voice UI: the panel at the top of a voice channel (participants, join / leave, mute / deafen,
// server mute / deafen for MUTE_MEMBERS holders), and the voice bar above the user panel that
// shows the current voice session (a voice channel or a DM call) wherever one is in the app.

import { calls } from "../calls.js";
import { h, mount } from "../dom.js";
import { icon } from "../icons.js";
import { avatar } from "../media.js";
import { has, P } from "../perms.js";
import { store } from "../store.js";
import { voice } from "../voice.js";
import { decodeMeta } from "../util.js";

const STATE_TEXT = {
  joining: "Joining…",
  connecting: "Connecting to the voice server…",
  connected: "Voice connected",
  failed: "Could not connect to the voice server.",
};

function sessionControls(session, prefix = "voice") {
  return [
    h("button", { type: "button", class: `small${session.muted ? "" : " secondary"}`, id: `${prefix}-mute`, "aria-pressed": String(session.muted),
      onclick: () => voice.toggleMute() }, icon(session.muted ? "bellOff" : "speaker", 14), session.muted ? " Unmute" : " Mute"),
    h("button", { type: "button", class: `small${session.deafened ? "" : " secondary"}`, id: `${prefix}-deafen`, "aria-pressed": String(session.deafened),
      onclick: () => voice.toggleDeafen() }, session.deafened ? "Undeafen" : "Deafen"),
  ];
}

function stateLine(session, prefix = "voice") {
  const failed = session.state === "failed";
  return h("p", { class: `voice-state ${session.state}${failed ? " error" : ""}`, id: `${prefix}-state`, role: failed ? "alert" : "status", dataset: { state: session.state } },
    session.error && failed ? session.error : STATE_TEXT[session.state] || "",
    session.serverMuted ? " · muted by a moderator" : "",
    session.serverDeafened ? " · deafened by a moderator" : "",
    session.micError ? ` · ${session.micError}` : "",
    failed ? h("button", { type: "button", class: "small secondary", id: `${prefix}-retry`, onclick: () => voice.connectMedia() }, "Retry") : null);
}

/** The panel of a voice channel; returns its cleanup function. */
export function renderVoicePanel(container, channel, server) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const draw = () => {
    const session = voice.inChannel(channel.id) ? voice.session : null;
    const canModerate = server && (server.owner_id === store.me.id || has(server.my_permissions, P.MUTE_MEMBERS));
    const people = voice.roster(channel.id);
    const list = h("ul", { class: "voice-participants", id: "voice-participants", "aria-label": "In this voice channel" },
      people.length ? people.map((p) => h("li", { class: "voice-participant", dataset: { userId: p.user_id } },
        avatar({ userId: p.user_id, name: p.name, url: p.avatar_url, size: 24 }),
        h("span", { class: "name" }, p.name),
        p.server_muted ? h("span", { class: "badge-muted", title: "Muted by a moderator", "aria-label": "server muted" }, icon("bellOff", 14)) : null,
        p.server_deafened ? h("span", { class: "badge-deafened", title: "Deafened by a moderator", "aria-label": "server deafened" }, "(deafened)") : null,
        canModerate ? h("span", { class: "voice-tools" },
          h("button", { type: "button", class: "icon-button small", dataset: { action: "server-mute" }, "aria-label": `${p.server_muted ? "Unmute" : "Server mute"} ${p.name}`,
            onclick: () => moderate(channel.id, p.user_id, "mute", !p.server_muted) }, p.server_muted ? "Unmute" : "Mute"),
          h("button", { type: "button", class: "icon-button small", dataset: { action: "server-deafen" }, "aria-label": `${p.server_deafened ? "Undeafen" : "Server deafen"} ${p.name}`,
            onclick: () => moderate(channel.id, p.user_id, "deafen", !p.server_deafened) }, p.server_deafened ? "Undeafen" : "Deafen")) : null))
        : h("li", { class: "muted small" }, "Nobody is here yet."));
    const controls = [];
    if (!store.features.has("voice")) {
      controls.push(h("p", { class: "muted small" }, "Voice is not configured on this Haven instance."));
    } else if (!session) {
      controls.push(h("button", { type: "button", class: "small", id: "voice-join", onclick: async () => {
        error.hidden = true;
        try {
          await voice.join(channel.id, { label: decodeMeta(channel.encrypted_meta, "voice").name });
        } catch (failure) {
          error.hidden = false;
          error.textContent = failure.message;
        }
      } }, icon("speaker", 16), " Join voice"));
    } else {
      controls.push(stateLine(session), ...sessionControls(session),
        h("button", { type: "button", class: "small danger", id: "voice-leave", onclick: () => voice.leave() }, "Leave"));
    }
    mount(container, h("div", { class: "voice-head" }, h("strong", {}, icon("speaker", 16), " Voice"), h("div", { class: "voice-controls" }, controls)), error, list);
  };
  const moderate = async (channelId, userId, what, value) => {
    error.hidden = true;
    try {
      await voice.moderate(channelId, userId, what, value);
    } catch (failure) {
      error.hidden = false;
      error.textContent = failure.message;
    }
  };
  const offs = [voice.on(`roster:${channel.id}`, draw), voice.on("session", draw), store.on("images", draw)];
  offs.push(store.realtime.onPoll(() => voice.loadRoster(channel.id))); // while the socket is down
  draw();
  voice.loadRoster(channel.id).catch((failure) => {
    error.hidden = false;
    error.textContent = failure.message;
  });
  return () => offs.forEach((off) => off());
}

/** The bar above the user panel while this browser is in voice (a channel or a call). */
export function renderVoiceBar(container) {
  const draw = () => {
    const session = voice.session;
    container.hidden = !session;
    if (!session) {
      container.replaceChildren();
      return;
    }
    mount(container,
      h("div", { class: "voice-bar-head" }, h("strong", {}, icon("speaker", 16), ` ${session.label || "Voice"}`)),
      stateLine(session, "voice-bar"),
      h("div", { class: "row" }, sessionControls(session, "voice-bar"),
        h("button", { type: "button", class: "small danger", id: "voice-bar-leave", onclick: () => {
          // Leaving a call's voice room is hanging up.
          if (calls.state?.channelId === session.channelId && calls.state.phase === "connected") calls.hangUp();
          else voice.leave();
        } }, "Leave")));
  };
  const off = voice.on("session", draw);
  draw();
  return off;
}
