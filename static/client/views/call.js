// The call layer: a banner at the top of the app for DM/group calls — an incoming ring (accept /
// decline), an outgoing ring (cancel), the connected call (who is in it, hang up), and a short
// note when a call ends or is declined. The audio controls live in the voice bar (views/voice.js).

import { calls } from "../calls.js";
import { h, mount } from "../dom.js";
import { icon } from "../icons.js";
import { voice } from "../voice.js";

export function renderCallLayer(container) {
  const draw = () => {
    const call = calls.state;
    container.hidden = !call;
    if (!call) {
      container.replaceChildren();
      return;
    }
    container.dataset.phase = call.phase;
    const note = call.note ? h("span", { class: "call-note muted small", role: "status" }, ` ${call.note}`) : null;
    if (call.phase === "ended") {
      mount(container, h("span", { id: "call-status", role: "status" }, call.note));
      return;
    }
    if (call.phase === "incoming" || call.phase === "joinable") {
      mount(container,
        h("span", { id: "call-status", role: "alert" }, icon("phone", 16), call.phase === "incoming" ? ` ${call.who} is calling…` : ` A call with ${call.who} is in progress`),
        h("button", { type: "button", class: "small", id: "call-accept", onclick: () => calls.accept() }, call.phase === "incoming" ? "Accept" : "Join"),
        h("button", { type: "button", class: "small danger", id: "call-decline", onclick: () => calls.decline() }, call.phase === "incoming" ? "Decline" : "Dismiss"),
        note);
      return;
    }
    if (call.phase === "calling") {
      mount(container,
        h("span", { id: "call-status", role: "status" }, icon("phone", 16), ` Calling ${call.who}…`),
        h("button", { type: "button", class: "small danger", id: "call-cancel", onclick: () => calls.hangUp() }, "Cancel"),
        note);
      return;
    }
    const people = voice.roster(call.channelId).map((p) => p.name);
    mount(container,
      h("span", { id: "call-status", role: "status" }, icon("phone", 16), ` In call with ${call.who}`),
      h("span", { class: "muted small", id: "call-participants" }, people.length ? ` · in the call: ${people.join(", ")}` : ""),
      h("button", { type: "button", class: "small danger", id: "call-hangup", onclick: () => calls.hangUp() }, "Hang up"),
      note);
  };
  calls.addEventListener("change", draw);
  const offs = [() => calls.removeEventListener("change", draw), voice.on("rosters", draw)];
  draw();
  return () => offs.forEach((off) => off());
}
