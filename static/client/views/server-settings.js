// Server settings dialog: overview (name, icon), invites (links to share), roles with a permission
// editor (each permission explained), custom emojis, bans, the audit log.

import { api, apiUpload } from "../api.js";
import { h, mount } from "../dom.js";
import { customEmojis } from "../emojis.js";
import { DESCRIPTIONS, has, LABELS, P, parsePerm } from "../perms.js";
import { store } from "../store.js";
import { encodeMeta } from "../util.js";
import { emojiImage } from "../media.js";
import { openModal } from "./modal.js";
import { auditLog } from "./moderation.js";

export function openServerSettings(server, tab = "overview") {
  const perms = server.my_permissions;
  const tabs = [
    ["overview", "Overview", true],
    ["invites", "Invites", has(perms, P.CREATE_INVITES) || has(perms, P.MANAGE_INVITES)],
    ["roles", "Roles", true],
    ["emojis", "Emojis", true],
    ["bans", "Bans", has(perms, P.BAN_MEMBERS)],
    ["audit", "Audit log", has(perms, P.VIEW_AUDIT_LOG)],
  ].filter(([, , visible]) => visible);
  const panel = h("div", { class: "tab-panel", role: "tabpanel" });
  const tabList = h("div", { class: "tabs", role: "tablist" });
  const modal = openModal(`${store.serverName(server)} settings`, tabList, panel);
  modal.dialog.classList.add("wide");
  const select = (id) => {
    for (const button of tabList.children) button.setAttribute("aria-selected", String(button.dataset.tab === id));
    const render = { overview, invites, roles, emojis, bans, audit: auditLog }[id];
    mount(panel, h("p", { class: "muted" }, "Loading…"));
    render(panel, store.server(server.id) || server).catch((failure) => mount(panel, h("p", { class: "error", role: "alert" }, failure.message)));
  };
  for (const [id, label] of tabs) {
    tabList.append(h("button", { type: "button", role: "tab", class: "tab", dataset: { tab: id }, onclick: () => select(id) }, label));
  }
  select(tabs.some(([id]) => id === tab) ? tab : "overview");
}

const errorLine = () => h("p", { class: "error", role: "alert", hidden: true });
function showError(line, failure) {
  line.hidden = false;
  line.textContent = failure.message;
}

async function overview(panel, server) {
  const canEdit = has(server.my_permissions, P.MANAGE_SERVER);
  const name = h("input", { name: "name", value: store.serverName(server), required: true, disabled: !canEdit, maxlength: 100 });
  const error = errorLine();
  const form = h("form", { class: "stack" }, h("label", { class: "field" }, h("span", {}, "Server name"), name), error,
    canEdit ? h("button", { type: "submit" }, "Save") : h("p", { class: "muted" }, "You need Manage server to change this."));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("PATCH", `/servers/${server.id}`, { encrypted_meta: encodeMeta({ name: name.value.trim() }) });
      await store.refreshServer(server.id);
      error.hidden = false;
      error.className = "status";
      error.textContent = "Saved.";
    } catch (failure) {
      showError(error, failure);
    }
  });
  mount(panel, form, canEdit ? iconEditor(server) : null);
}

const IMAGE_ACCEPT = "image/png,image/jpeg,image/gif,image/webp";

/** The server icon (POST/DELETE /servers/{id}/icon): owner or MANAGE_SERVER. */
function iconEditor(server) {
  const status = h("p", { class: "status", role: "status", id: "icon-status" });
  const current = h("div", { class: "icon-preview" });
  const draw = () => {
    const fresh = store.server(server.id) || server;
    mount(current, fresh.icon_url ? h("img", { class: "server-icon large", src: store.imageUrl(fresh.icon_url), alt: "Server icon" }) : h("span", { class: "muted small" }, "No icon"),
      fresh.icon_url ? h("button", { type: "button", class: "small secondary", id: "remove-icon", onclick: async () => {
        try {
          await api("DELETE", `/servers/${server.id}/icon`);
          await store.refreshServer(server.id);
          status.textContent = "Icon removed.";
          draw();
        } catch (failure) {
          status.textContent = failure.message;
        }
      } }, "Remove icon") : null);
  };
  const input = h("input", { type: "file", accept: IMAGE_ACCEPT, id: "icon-file", name: "icon" });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    status.className = "status";
    status.textContent = "Uploading…";
    try {
      const { icon_url: url } = await apiUpload(`/servers/${server.id}/icon`, file, { contentType: file.type || "application/octet-stream" });
      store.imageChanged(url);
      await store.refreshServer(server.id);
      status.textContent = "Icon saved.";
      draw();
    } catch (failure) {
      status.className = "error";
      status.textContent = failure.message;
    }
  });
  draw();
  return h("section", { class: "stack", id: "server-icon" }, h("h3", {}, "Icon"), current,
    h("label", { class: "field" }, h("span", {}, "Upload an icon (PNG, JPEG, GIF or WebP, at most 2 MB)"), input), status);
}

/** Custom emojis: everyone sees the list; MANAGE_EMOJIS uploads, renames and deletes. */
async function emojis(panel, server) {
  const canManage = server.owner_id === store.me.id || has(server.my_permissions, P.MANAGE_EMOJIS);
  const list = await customEmojis.load(server.id, true);
  const error = errorLine();
  const rows = h("ul", { class: "emoji-list", id: "emoji-list" }, list.length ? list.map((emoji) => h("li", { dataset: { emojiName: emoji.name, emojiId: emoji.id } },
    emojiImage(emoji, "emoji large"), h("code", {}, `:${emoji.name}:`), emoji.animated ? h("span", { class: "muted small" }, "animated") : null,
    canManage ? h("button", { type: "button", class: "small secondary", dataset: { action: "rename" }, onclick: () => {
      const name = h("input", { name: "name", value: emoji.name, required: true, maxlength: 64, pattern: "[A-Za-z0-9_]{2,64}", "aria-label": "New name" });
      const form = h("form", { class: "row" }, name, h("button", { type: "submit", class: "small" }, "Save"));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          await api("PATCH", `/servers/${server.id}/emojis/${emoji.id}`, { name: name.value.trim() });
          await emojis(panel, server);
        } catch (failure) {
          showError(error, failure);
        }
      });
      rows.querySelector(`[data-emoji-id="${emoji.id}"]`)?.append(form);
      name.focus();
    } }, "Rename") : null,
    canManage ? h("button", { type: "button", class: "small danger", dataset: { action: "delete" }, onclick: async () => {
      try {
        await api("DELETE", `/servers/${server.id}/emojis/${emoji.id}`);
        await emojis(panel, server);
      } catch (failure) {
        showError(error, failure);
      }
    } }, "Delete") : null)) : h("li", { class: "muted" }, "No custom emojis yet."));
  let upload = h("p", { class: "muted" }, "You need Manage emojis to add emojis.");
  if (canManage) {
    const name = h("input", { name: "name", required: true, maxlength: 64, pattern: "[A-Za-z0-9_]{2,64}", title: "2-64 letters, digits or underscores" });
    const file = h("input", { type: "file", name: "image", accept: "image/png,image/jpeg,image/gif", required: true, id: "emoji-file" });
    upload = h("form", { class: "stack", id: "emoji-form" },
      h("label", { class: "field" }, h("span", {}, "Name (letters, digits, _)"), name),
      h("label", { class: "field" }, h("span", {}, "Image (PNG, JPEG or GIF, at most 256 KB)"), file),
      h("button", { type: "submit" }, "Upload emoji"));
    upload.addEventListener("submit", async (e) => {
      e.preventDefault();
      const image = file.files[0];
      if (!image) return;
      try {
        await apiUpload(`/servers/${server.id}/emojis?name=${encodeURIComponent(name.value.trim())}`, image, { contentType: image.type || "application/octet-stream" });
        await emojis(panel, server);
      } catch (failure) {
        showError(error, failure);
      }
    });
  }
  mount(panel, h("p", { class: "muted small" }, "Use them in messages of this server as :name:."), rows, error, upload);
}

async function invites(panel, server) {
  const error = errorLine();
  const result = h("div", { id: "new-invite", "aria-live": "polite" });
  const form = h("form", { class: "row", id: "invite-form" },
    h("label", { class: "field" }, h("span", {}, "Max uses (empty: unlimited)"), h("input", { name: "max_uses", type: "number", min: 1 })),
    h("label", { class: "field" }, h("span", {}, "Expires after hours (empty: never)"), h("input", { name: "hours", type: "number", min: 1 })),
    h("button", { type: "submit" }, "Create invite"));
  const list = h("div", {});
  const refresh = async () => {
    if (!has(server.my_permissions, P.MANAGE_INVITES)) return;
    const all = await api("GET", `/servers/${server.id}/invites?limit=100`);
    mount(list, h("h3", {}, "Active invites"), all.length ? h("ul", { class: "invites" }, all.map((inv) => h("li", { dataset: { code: inv.code } },
      h("code", {}, inv.code), h("span", { class: "muted small" }, `${inv.use_count}${inv.max_uses ? `/${inv.max_uses}` : ""} uses${inv.expires_at ? ` · expires ${new Date(inv.expires_at).toLocaleString()}` : ""}`),
      h("button", { type: "button", class: "small secondary", onclick: async () => { await api("DELETE", `/servers/${server.id}/invites/${inv.id}`); refresh(); } }, "Revoke"))))
      : h("p", { class: "muted" }, "No invites yet."));
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    const body = {};
    if (values.max_uses) body.max_uses = Number.parseInt(values.max_uses, 10);
    if (values.hours) body.expires_in_hours = Number(values.hours);
    try {
      const invite = await api("POST", `/servers/${server.id}/invites`, body);
      const url = `${location.origin}/invite/${encodeURIComponent(invite.code)}`;
      mount(result, h("p", {}, "Share this link: ", h("code", { class: "invite-link", id: "invite-link" }, url), " ",
        h("button", { type: "button", class: "small", onclick: () => navigator.clipboard?.writeText(url).catch(() => {}) }, "Copy link")),
      h("p", { class: "muted small" }, "Or the code alone: ", h("code", { class: "invite-code" }, invite.code)));
      refresh();
    } catch (failure) {
      showError(error, failure);
    }
  });
  mount(panel, form, error, result, list);
  await refresh();
}

const EDITABLE = Object.keys(LABELS);

async function roles(panel, server) {
  const canManage = has(server.my_permissions, P.MANAGE_ROLES);
  const all = await api("GET", `/servers/${server.id}/roles`);
  const error = errorLine();
  const list = h("ul", { class: "role-list" }, [...all].sort((a, b) => b.position - a.position).map((role) =>
    h("li", { dataset: { roleId: role.id } }, h("span", { class: "role-chip", style: role.color ? `border-color:${role.color}` : undefined }, role.name),
      h("span", { class: "muted small" }, ` position ${role.position}`),
      canManage ? h("button", { type: "button", class: "small secondary", onclick: () => mount(editor, roleEditor(server, role, () => roles(panel, server))) }, "Edit") : null)));
  const editor = h("div", { class: "role-editor" });
  mount(panel, list, error, editor,
    canManage ? h("button", { type: "button", id: "new-role", onclick: () => mount(editor, roleEditor(server, null, () => roles(panel, server))) }, "New role") : h("p", { class: "muted" }, "You need Manage roles to edit roles."));
}

function roleEditor(server, role, done) {
  const bits = parsePerm(role?.permissions ?? "0");
  const error = errorLine();
  const form = h("form", { class: "stack", id: "role-form" },
    h("label", { class: "field" }, h("span", {}, "Role name"), h("input", { name: "name", required: true, value: role?.name || "", maxlength: 100, disabled: role?.is_default })),
    h("label", { class: "field" }, h("span", {}, "Colour"), h("input", { name: "color", type: "color", value: role?.color || "#99aab5" })),
    h("label", { class: "field" }, h("span", {}, "Position (higher outranks lower)"), h("input", { name: "position", type: "number", min: 0, value: role?.position ?? 1 })),
    h("fieldset", { class: "perm-grid" }, h("legend", {}, "Permissions"),
      EDITABLE.map((key) => h("label", { class: "check" }, h("input", { type: "checkbox", name: `perm:${key}`, checked: (bits & P[key]) === P[key] }),
        h("span", {}, ` ${LABELS[key]}`, h("span", { class: "perm-desc" }, DESCRIPTIONS[key]))))),
    error,
    h("div", { class: "row" }, h("button", { type: "submit" }, role ? "Save role" : "Create role"),
      role && !role.is_default ? h("button", { type: "button", class: "danger", onclick: async () => {
        try {
          await api("DELETE", `/servers/${server.id}/roles/${role.id}`);
          store.emit(`members:${server.id}`);
          done();
        } catch (failure) {
          showError(error, failure);
        }
      } }, "Delete role") : null));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    // Keep bits this editor does not show (other clients may use them).
    let next = bits;
    for (const key of EDITABLE) next = form.querySelector(`[name="perm:${key}"]`).checked ? next | P[key] : next & ~P[key];
    const body = { color: values.color, permissions: next.toString(), position: Number.parseInt(values.position, 10) || 0 };
    if (!role?.is_default) body.name = values.name.trim();
    try {
      if (role) await api("PUT", `/servers/${server.id}/roles/${role.id}`, body);
      else await api("POST", `/servers/${server.id}/roles`, body);
      store.emit(`members:${server.id}`);
      done();
    } catch (failure) {
      showError(error, failure);
    }
  });
  return form;
}

async function bans(panel, server) {
  const all = await api("GET", `/servers/${server.id}/bans?limit=100`);
  mount(panel, all.length ? h("ul", { class: "bans" }, all.map((b) => h("li", { dataset: { userId: b.user_id } },
    h("strong", {}, b.username), h("span", { class: "muted small" }, b.reason ? ` — ${b.reason}` : ""),
    h("button", { type: "button", class: "small secondary", onclick: async () => { await api("DELETE", `/servers/${server.id}/bans/${b.user_id}`); bans(panel, server); } }, "Unban"))))
    : h("p", { class: "muted" }, "Nobody is banned."));
}
