// Moderation tools beyond the member list: the server's audit log (VIEW_AUDIT_LOG) and a
// channel's permission overwrites (MANAGE_CHANNELS): per role or member, each permission allowed,
// denied or left to the server's roles.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { loadServerMembers } from "../people.js";
import { DESCRIPTIONS, LABELS, P, parsePerm } from "../perms.js";
import { store } from "../store.js";
import { decodeMeta } from "../util.js";
import { openModal } from "./modal.js";

const ACTIONS = {
  server_update: "updated the server settings",
  channel_create: "created channel",
  channel_update: "edited channel",
  channel_delete: "deleted channel",
  overwrite_update: "changed permissions in",
  overwrite_delete: "reset permissions in",
  role_create: "created role",
  role_update: "edited role",
  role_delete: "deleted role",
  member_role_add: "gave a role to",
  member_role_remove: "took a role from",
  member_kick: "kicked",
  member_ban: "banned",
  member_unban: "unbanned",
  member_timeout: "timed out",
  member_nickname_update: "changed the nickname of",
  message_bulk_delete: "deleted messages in",
  message_delete: "deleted a message",
};

function duration(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return "ended the timeout";
  for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) if (s >= size && s % size === 0) return `for ${s / size} ${unit}${s / size > 1 ? "s" : ""}`;
  return `for ${s} seconds`;
}

/** One audit entry as a sentence: who did what to whom, with the details the entry carries. */
function describe(entry, names) {
  const c = entry.changes && typeof entry.changes === "object" ? entry.changes : {};
  const target = entry.target_type === "member" ? names.members.get(entry.target_id) || c.username || "a member"
    : entry.target_type === "channel" ? names.channels.get(entry.target_id) || "a channel"
      : entry.target_type === "role" ? c.name || names.roles.get(entry.target_id) || "a role" : "";
  const details = [];
  if (entry.action === "member_role_add" || entry.action === "member_role_remove") details.push(`role ${c.role_name || "?"}`);
  if (entry.action === "member_timeout") details.push(duration(c.duration_seconds));
  if (entry.action === "member_nickname_update") details.push(c.nickname ? `to ${c.nickname}` : "cleared");
  if (entry.action === "message_bulk_delete") details.push(`${c.count ?? "?"} messages`);
  const text = `${entry.actor_username} ${ACTIONS[entry.action] || entry.action.replaceAll("_", " ")}${target ? ` ${target}` : ""}${details.length ? ` (${details.join(", ")})` : ""}`;
  return text;
}

export async function auditLog(panel, server) {
  const [members, roles] = await Promise.all([loadServerMembers(server.id).catch(() => []), api("GET", `/servers/${server.id}/roles`).catch(() => [])]);
  const names = {
    members: new Map(members.map((m) => [m.user_id, m.nickname || m.display_name || m.username])),
    roles: new Map(roles.map((r) => [r.id, r.name])),
    channels: new Map((store.channels.get(server.id) || []).map((c) => [c.id, `#${decodeMeta(c.encrypted_meta, "channel").name}`])),
  };
  const list = h("ul", { class: "audit-list", id: "audit-log" });
  const more = h("button", { type: "button", class: "small secondary", hidden: true }, "Older entries");
  let before = null;
  const load = async () => {
    const page = await api("GET", `/servers/${server.id}/audit-log?limit=50${before ? `&before=${encodeURIComponent(before)}` : ""}`);
    if (!page.length && !before) list.append(h("li", { class: "muted" }, "Nothing happened here yet."));
    for (const entry of page) {
      list.append(h("li", { dataset: { action: entry.action } }, h("span", {}, describe(entry, names)),
        entry.reason ? h("span", { class: "muted small" }, `Reason: ${entry.reason}`) : null,
        h("time", { class: "muted small", datetime: entry.created_at }, new Date(entry.created_at).toLocaleString())));
    }
    before = page.at(-1)?.created_at || before;
    more.hidden = page.length < 50;
  };
  more.addEventListener("click", () => load().catch(() => {}));
  mount(panel, h("p", { class: "muted small" }, "Moderation and settings changes, newest first. Message contents are never here: they are end-to-end encrypted."), list, more);
  await load();
}

// ---- channel permission overwrites -------------------------------------------------------------------

const CHANNEL_PERMS = ["VIEW_CHANNELS", "SEND_MESSAGES", "READ_MESSAGE_HISTORY", "ADD_REACTIONS", "ATTACH_FILES", "MANAGE_MESSAGES"];

export async function editOverwrites(server, channel) {
  const name = `#${decodeMeta(channel.encrypted_meta, "channel").name}`;
  const modal = openModal(`Permissions in ${name}`, h("p", { class: "muted" }, "Loading…"));
  modal.dialog.classList.add("wide");
  modal.dialog.id = "overwrites-dialog";
  const [roles, members, overwrites] = await Promise.all([api("GET", `/servers/${server.id}/roles`), loadServerMembers(server.id), api("GET", `/channels/${channel.id}/overwrites`)]);
  const targets = [...roles.sort((a, b) => b.position - a.position).map((r) => ({ type: "role", id: r.id, label: r.is_default ? "@everyone" : r.name })),
    ...members.map((m) => ({ type: "member", id: m.user_id, label: `@${m.username}` }))];
  const current = new Map(overwrites.map((o) => [`${o.target_type}:${o.target_id}`, o]));
  const picker = h("select", { id: "overwrite-target", "aria-label": "Role or member" }, targets.map((t) =>
    h("option", { value: `${t.type}:${t.id}` }, `${t.label}${current.has(`${t.type}:${t.id}`) ? " (set)" : ""}`)));
  const editor = h("div", { id: "overwrite-editor" });
  const draw = () => {
    const key = picker.value;
    const [type, id] = key.split(":");
    const existing = current.get(key);
    const allow = parsePerm(existing?.allow_bits);
    const deny = parsePerm(existing?.deny_bits);
    const status = h("p", { class: "status", role: "status" });
    const rows = CHANNEL_PERMS.map((perm) => {
      const state = (allow & P[perm]) ? "allow" : (deny & P[perm]) ? "deny" : "inherit";
      return [h("span", {}, LABELS[perm], h("span", { class: "perm-desc" }, DESCRIPTIONS[perm])),
        ...["allow", "inherit", "deny"].map((choice) => h("label", { class: "check" }, h("input", { type: "radio", name: `perm:${perm}`, value: choice, checked: state === choice,
          "aria-label": `${LABELS[perm]}: ${choice}` }), ` ${choice === "inherit" ? "Default" : choice === "allow" ? "Allow" : "Deny"}`))];
    });
    const form = h("form", { class: "stack", id: "overwrite-form" }, h("div", { class: "overwrite-grid" }, rows.flat()), status,
      h("div", { class: "row" }, h("button", { type: "submit" }, "Save"),
        existing ? h("button", { type: "button", class: "secondary", id: "overwrite-remove", onclick: async () => {
          try {
            await api("DELETE", `/channels/${channel.id}/overwrites/${type}/${id}`);
            current.delete(key);
            refreshLists();
          } catch (failure) {
            status.className = "error";
            status.textContent = failure.message;
          }
        } }, "Back to defaults") : null));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      let nextAllow = allow;
      let nextDeny = deny;
      for (const perm of CHANNEL_PERMS) {
        const choice = form.querySelector(`[name="perm:${perm}"]:checked`).value;
        nextAllow = choice === "allow" ? nextAllow | P[perm] : nextAllow & ~P[perm];
        nextDeny = choice === "deny" ? nextDeny | P[perm] : nextDeny & ~P[perm];
      }
      try {
        const saved = await api("PUT", `/channels/${channel.id}/overwrites`, { target_type: type, target_id: id, allow_bits: nextAllow.toString(), deny_bits: nextDeny.toString() });
        current.set(key, saved);
        status.className = "status";
        status.textContent = "Saved.";
        refreshLists(false);
      } catch (failure) {
        status.className = "error";
        status.textContent = failure.message;
      }
    });
    mount(editor, form);
  };
  const refreshLists = (redraw = true) => {
    for (const option of picker.options) {
      const t = targets.find((x) => `${x.type}:${x.id}` === option.value);
      option.textContent = `${t.label}${current.has(option.value) ? " (set)" : ""}`;
    }
    store.loadChannels(server.id).catch(() => {});
    if (redraw) draw();
  };
  picker.addEventListener("change", draw);
  mount(modal.body, h("p", { class: "muted small" }, "Allow or deny a permission in this channel for a role or a member; Default keeps what their roles give. Members' own settings win over roles, and allows win over denies between roles."),
    h("label", { class: "field" }, h("span", {}, "Role or member"), picker), editor);
  draw();
  return modal;
}
