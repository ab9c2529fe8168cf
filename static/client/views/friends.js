// The home page: friends (add by username, accept/decline, remove, block), DM requests, blocked
// users, and starting a DM or a group DM.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { navigate } from "../app.js";
import { store } from "../store.js";
import { dmMeta, groupMeta } from "../util.js";
import { navToggle } from "./drawers.js";
import { confirmModal, field, formModal } from "./modal.js";
import { showProfile } from "./profile.js";

let cleanup = [];

export function renderFriends(container) {
  cleanup.forEach((fn) => fn());
  const status = h("p", { class: "status", role: "status" });
  const addForm = h("form", { class: "row", id: "add-friend" },
    h("label", { class: "field grow" }, h("span", {}, "Add a friend by username"), h("input", { name: "username", required: true, autocomplete: "off" })),
    h("button", { type: "submit" }, "Send request"));
  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = addForm.querySelector("input");
    try {
      const friend = await api("POST", "/friends/request", { username: input.value.trim() });
      status.className = "status";
      status.textContent = friend.status === "accepted" ? `You and ${friend.username} are now friends.` : `Request sent to ${friend.username}.`;
      input.value = "";
      draw();
    } catch (failure) {
      status.className = "error";
      status.textContent = failure.message;
    }
  });
  const body = h("div", { class: "friends-body" }, h("p", { class: "muted", role: "status" }, "Loading…"));
  mount(container, h("div", { class: "friends-page" },
    h("header", { class: "chat-head" }, navToggle(), h("h2", {}, "Friends"),
      h("button", { type: "button", class: "small", id: "new-group", onclick: () => newGroup() }, "New group DM")),
    h("div", { class: "scroll" }, addForm, status, body)));

  async function draw() {
    try {
      const [friends, requests, blocked] = await Promise.all([
        api("GET", "/friends?limit=100"), api("GET", "/dm/requests"), api("GET", "/users/blocked?limit=100"),
      ]);
      store.countRequests(friends, requests);
      mount(body, ...sections(friends, requests, blocked, draw));
    } catch (failure) {
      mount(body, h("p", { class: "error", role: "alert" }, failure.message));
    }
  }
  cleanup = [store.on("friends", draw), store.realtime.onPoll(draw)];
  draw();
  return () => cleanup.forEach((fn) => fn());
}

function person(f, ...buttons) {
  return h("li", { class: "friend", dataset: { username: f.username, userId: f.user_id } },
    h("button", { type: "button", class: "link", onclick: () => showProfile(f.user_id) }, f.display_name || f.username),
    h("span", { class: "muted small" }, ` @${f.username}`), h("span", { class: "grow" }), ...buttons);
}

function act(label, action, fn, secondary = true) {
  return h("button", { type: "button", class: secondary ? "small secondary" : "small", dataset: { action }, onclick: async (e) => {
    const button = e.currentTarget;
    button.disabled = true; // no double submits while the request runs
    try {
      await fn();
    } catch (failure) {
      button.closest("li")?.append(h("span", { class: "error small", role: "alert" }, ` ${failure.message}`));
    } finally {
      button.disabled = false;
    }
  } }, label);
}

async function openDm(userId, username) {
  const channel = await api("POST", "/dm", { target_user_id: userId, encrypted_meta: dmMeta(store.me, { id: userId, username }) });
  await store.loadDms();
  navigate(`#/channels/@me/${channel.id}`);
}

function sections(friends, requests, blocked, redraw) {
  const incoming = friends.filter((f) => f.status === "pending" && f.is_incoming);
  const outgoing = friends.filter((f) => f.status === "pending" && !f.is_incoming);
  const accepted = friends.filter((f) => f.status === "accepted");
  const out = [];
  if (incoming.length) {
    out.push(h("section", { id: "incoming-requests" }, h("h3", {}, "Incoming friend requests"), h("ul", {}, incoming.map((f) => person(f,
      act("Accept", "accept", async () => { await api("POST", `/friends/${f.id}/accept`); redraw(); }, false),
      act("Decline", "decline", async () => { await api("POST", `/friends/${f.id}/decline`); redraw(); }))))));
  }
  if (requests.length) {
    out.push(h("section", { id: "dm-requests" }, h("h3", {}, "Message requests"), h("ul", {}, requests.map((c) =>
      h("li", { class: "friend", dataset: { channelId: c.id } }, h("a", { href: `#/channels/@me/${c.id}` }, store.dmTitle(c)), h("span", { class: "grow" }),
        act("Accept", "accept-dm", async () => { await api("POST", `/dm/${c.id}/request`, { action: "accept" }); await store.loadDms(); redraw(); }, false),
        act("Decline", "decline-dm", async () => { await api("POST", `/dm/${c.id}/request`, { action: "decline" }); await store.loadDms(); redraw(); }))))));
  }
  out.push(h("section", { id: "friend-list" }, h("h3", {}, `Friends — ${accepted.length}`),
    accepted.length ? h("ul", {}, accepted.map((f) => person(f,
      act("Message", "message", () => openDm(f.user_id, f.username), false),
      act("Remove", "remove", () => confirmModal("Remove friend", `Remove ${f.username} from your friends?`, "Remove", async () => { await api("DELETE", `/friends/${f.id}`); redraw(); })),
      act("Block", "block", () => confirmModal("Block", `Block ${f.username}? This also ends your friendship.`, "Block", async () => { await api("POST", `/users/${f.user_id}/block`); redraw(); })))))
      : h("p", { class: "muted" }, "No friends yet. Add someone by their username above, or join a server with an invite link (the arrow button in the rail).")));
  if (outgoing.length) {
    out.push(h("section", { id: "outgoing-requests" }, h("h3", {}, "Sent requests"), h("ul", {}, outgoing.map((f) => person(f,
      act("Cancel", "cancel", async () => { await api("DELETE", `/friends/${f.id}`); redraw(); }))))));
  }
  if (blocked.length) {
    out.push(h("section", { id: "blocked" }, h("h3", {}, "Blocked"), h("ul", {}, blocked.map((b) => person(b,
      act("Unblock", "unblock", async () => { await api("DELETE", `/users/${b.user_id}/block`); redraw(); }))))));
  }
  return out;
}

async function newGroup() {
  const friends = (await api("GET", "/friends?limit=100")).filter((f) => f.status === "accepted");
  formModal("New group DM", [
    field("Group name (optional)", "name", { maxlength: 100 }),
    h("fieldset", {}, h("legend", {}, "Members (2 to 9 friends)"),
      friends.length ? friends.map((f) => h("label", { class: "check" }, h("input", { type: "checkbox", name: `u:${f.user_id}` }), ` ${f.display_name || f.username}`))
        : h("p", { class: "muted" }, "You need friends to start a group.")),
  ], "Create group", async (values) => {
    const ids = Object.keys(values).filter((k) => k.startsWith("u:") && values[k]).map((k) => k.slice(2));
    const members = ids.map((id) => {
      const friend = friends.find((f) => f.user_id === id);
      return { id, name: friend?.display_name || friend?.username || id.slice(0, 8) };
    });
    const channel = await api("POST", "/dm/group", { member_ids: ids, encrypted_meta: groupMeta(store.me, values.name?.trim(), members) });
    await store.loadDms();
    navigate(`#/channels/@me/${channel.id}`);
  });
}
