// The member list of a server: grouped by their highest role, with presence and, for
// moderators, kick / ban / nickname / roles tools.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { has, P } from "../perms.js";
import { forgetServerMembers, loadServerMembers } from "../people.js";
import { icon } from "../icons.js";
import { avatar } from "../media.js";
import { store } from "../store.js";
import { confirmModal, field, formModal } from "./modal.js";
import { showProfile } from "./profile.js";

let cleanup = [];

export function renderMembers(container, server) {
  cleanup.forEach((fn) => fn());
  const presence = new Map();
  const draw = async (fresh = false) => {
    try {
      if (fresh) forgetServerMembers(server.id);
      const [members, roles] = await Promise.all([loadServerMembers(server.id), api("GET", `/servers/${server.id}/roles`)]);
      const ids = members.map((m) => m.user_id);
      const unknown = ids.filter((id) => !presence.has(id)); // first load, or people who just joined
      if (unknown.length) {
        const states = await api("GET", `/presence?user_ids=${unknown.slice(0, 200).join(",")}`).catch(() => []);
        for (const s of states) presence.set(s.user_id, s.status);
      }
      drawList(container, store.server(server.id) || server, members, roles, presence);
    } catch (failure) {
      mount(container, h("p", { class: "error", role: "alert" }, failure.message));
    }
  };
  const onPresence = (e) => {
    presence.set(e.detail.user_id, e.detail.status);
    draw();
  };
  store.bus.addEventListener("presence", onPresence);
  cleanup = [
    store.on(`members:${server.id}`, () => draw(true)),
    store.on("images", () => draw()),
    () => store.bus.removeEventListener("presence", onPresence),
    store.realtime.onPoll(() => (Math.random() < 0.2 ? draw(true) : null)), // now and then while polling
  ];
  mount(container, h("p", { class: "muted", role: "status" }, "Loading members…"));
  draw(true);
  return () => {
    cleanup.forEach((fn) => fn());
    cleanup = [];
  };
}

function drawList(container, server, members, roles, presence) {
  const byId = new Map(roles.map((r) => [r.id, r]));
  const top = (m) => m.role_ids.map((id) => byId.get(id)).filter((r) => r && !r.is_default).sort((a, b) => b.position - a.position)[0];
  const groups = new Map();
  for (const m of members) {
    const role = top(m);
    const key = role ? role.id : "";
    if (!groups.has(key)) groups.set(key, { role, members: [] });
    groups.get(key).members.push(m);
  }
  const ordered = [...groups.values()].sort((a, b) => (b.role?.position ?? -1) - (a.role?.position ?? -1));
  const mine = members.find((m) => m.user_id === store.me.id);
  if (mine) store.setMyTimeout(server.id, mine.timed_out_until || null);
  // One "Members — N" heading; groups are named by role ("No role" only next to role groups).
  mount(container,
    h("h2", { class: "members-head" }, `Members — ${members.length}`),
    ordered.map(({ role, members: list }) => h("section", { class: "member-group" },
      ordered.length > 1 || role ? h("h3", { class: "muted small" }, `${role ? role.name : "No role"} — ${list.length}`) : null,
      h("ul", { class: "member-list" }, list.map((m) => memberItem(server, m, role, roles, presence.get(m.user_id) || "offline"))))));
}

function memberItem(server, member, role, roles, status) {
  const name = member.nickname || member.display_name || member.username;
  const perms = server.my_permissions;
  const self = member.user_id === store.me.id;
  const isOwner = member.user_id === server.owner_id;
  const tools = [];
  if (!self && !isOwner && has(perms, P.KICK_MEMBERS)) tools.push(["Kick", "kick", () => kick(server, member, name)]);
  if (!self && !isOwner && has(perms, P.BAN_MEMBERS)) tools.push(["Ban", "ban", () => ban(server, member, name)]);
  if (!self && !isOwner && has(perms, P.MODERATE_MEMBERS)) {
    tools.push(member.timed_out_until ? ["End timeout", "untimeout", () => endTimeout(server, member, name)] : ["Timeout", "timeout", () => timeout(server, member, name)]);
  }
  if (has(perms, P.MANAGE_SERVER)) tools.push(["Nickname", "nickname", () => nickname(server, member)]);
  if (has(perms, P.MANAGE_ROLES)) tools.push(["Roles", "roles", () => editRoles(server, member, roles)]);
  return h("li", { class: "member", dataset: { userId: member.user_id, username: member.username } },
    h("span", { class: "member-avatar" }, avatar({ userId: member.user_id, name, url: member.avatar_url, size: 28 }),
      h("span", { class: `presence-dot ${status}`, title: status, "aria-label": status })),
    h("button", { type: "button", class: "link member-name", style: role?.color ? `color:${role.color}` : undefined,
      onclick: () => showProfile(member.user_id, server.id) }, name),
    isOwner ? h("span", { class: "owner", title: "Server owner", "aria-label": "owner" }, icon("crown", 14)) : null,
    member.timed_out_until ? h("span", { class: "muted small timed-out", title: `Timed out until ${new Date(member.timed_out_until).toLocaleString()}` }, icon("clock", 14), " timed out") : null,
    tools.length ? h("span", { class: "member-tools" }, tools.map(([label, action, fn]) =>
      h("button", { type: "button", class: "icon-button small", dataset: { action }, "aria-label": `${label} ${name}`, onclick: fn }, label))) : null);
}

const DURATIONS = [["60", "60 seconds"], ["300", "5 minutes"], ["600", "10 minutes"], ["3600", "1 hour"], ["86400", "1 day"], ["604800", "1 week"]];

function timeout(server, member, name) {
  formModal("Time out member", [
    h("p", {}, `${name} will still read this server, but cannot send messages or react until the timeout ends.`),
    h("label", { class: "field" }, h("span", {}, "Duration"), h("select", { name: "duration" }, DURATIONS.map(([value, label]) => h("option", { value, selected: value === "600" }, label)))),
    field("Reason (optional, in the audit log)", "reason", { maxlength: 512 }),
  ], "Time out", async ({ duration, reason }) => {
    const body = { duration_seconds: Number.parseInt(duration, 10) };
    if (reason?.trim()) body.reason = reason.trim();
    await api("PUT", `/servers/${server.id}/members/${member.user_id}/timeout`, body);
    store.emit(`members:${server.id}`);
  });
}

function endTimeout(server, member, name) {
  confirmModal("End timeout", `Let ${name} send messages again now?`, "End timeout", async () => {
    await api("PUT", `/servers/${server.id}/members/${member.user_id}/timeout`, { duration_seconds: 0 });
    store.emit(`members:${server.id}`);
  });
}

function kick(server, member, name) {
  confirmModal("Kick member", `Kick ${name} from ${store.serverName(server)}? They can rejoin with an invite.`, "Kick", async () => {
    await api("DELETE", `/servers/${server.id}/members/${member.user_id}`);
    store.crypto.invalidate();
    store.emit(`members:${server.id}`);
  });
}

function ban(server, member, name) {
  formModal("Ban member", [h("p", {}, `Ban ${name}? They are removed and cannot rejoin.`), field("Reason (optional)", "reason", { maxlength: 512 })], "Ban", async ({ reason }) => {
    await api("POST", `/servers/${server.id}/bans/${member.user_id}`, reason ? { reason } : {});
    store.crypto.invalidate();
    store.emit(`members:${server.id}`);
  });
}

function nickname(server, member) {
  formModal("Set nickname", [field("Nickname (empty to clear)", "nickname", { maxlength: 32, value: member.nickname || "" })], "Save", async ({ nickname: value }) => {
    await api("PUT", `/servers/${server.id}/members/${member.user_id}/nickname`, { nickname: value.trim() || null });
    store.emit(`members:${server.id}`);
  });
}

function editRoles(server, member, roles) {
  const assignable = roles.filter((r) => !r.is_default);
  formModal(`Roles of ${member.username}`,
    assignable.length ? assignable.map((r) => h("label", { class: "check" }, h("input", { type: "checkbox", name: `role:${r.id}`, checked: member.role_ids.includes(r.id) }), ` ${r.name}`))
      : [h("p", { class: "muted" }, "This server has no roles yet (Server settings → Roles).")],
    "Save",
    async (values) => {
      for (const role of assignable) {
        const want = Boolean(values[`role:${role.id}`]);
        const hasIt = member.role_ids.includes(role.id);
        if (want && !hasIt) await api("PUT", `/servers/${server.id}/members/${member.user_id}/roles`, { role_id: role.id });
        if (!want && hasIt) await api("DELETE", `/servers/${server.id}/members/${member.user_id}/roles/${role.id}`);
      }
      store.emit(`members:${server.id}`);
    });
}
