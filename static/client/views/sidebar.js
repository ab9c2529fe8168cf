// The sidebar: a server's channels grouped by category (with the channel and category tools of
// members holding MANAGE_CHANNELS), or the list of direct messages.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { navigate } from "../app.js";
import { has, P } from "../perms.js";
import { store } from "../store.js";
import { decodeMeta, encodeMeta } from "../util.js";
import { icon } from "../icons.js";
import { avatar } from "../media.js";
import { notifier } from "../notify.js";
import { voice } from "../voice.js";
import { confirmModal, field, formModal } from "./modal.js";
import { editOverwrites } from "./moderation.js";
import { openServerSettings } from "./server-settings.js";

let unsubscribe = [];
// The server whose menu is open: the sidebar is redrawn on every channel, read-state or voice event,
// and an open menu (with its focused item) must survive that instead of vanishing under the pointer.
let openMenuServerId = null;

function listen(...subs) {
  unsubscribe.forEach((fn) => fn());
  unsubscribe = subs;
}

const channelName = (channel) => decodeMeta(channel.encrypted_meta, "channel").name;

function badge(count) {
  return count > 0 ? h("span", { class: "badge unread-count", "aria-label": `${count} unread` }, count > 99 ? "99+" : String(count)) : null;
}

/** Mentions of me in a channel: a distinct badge (they stay until the channel is read). */
function mentionBadge(count) {
  return count > 0 ? h("span", { class: "badge mention-count", "aria-label": `${count} mention${count > 1 ? "s" : ""}` }, `@${count > 99 ? "99+" : count}`) : null;
}

const CHANNEL_ICONS = { voice: "speaker", private: "lock", text: "hash" };

export function renderServerSidebar(container, server, channelId) {
  openMenuServerId = null; // a newly opened view starts with its menu closed
  const draw = () => drawServer(container, store.server(server.id) || server, channelId);
  const onNotify = () => draw();
  notifier.addEventListener("change", onNotify);
  listen(store.on(`channels:${server.id}`, draw), store.on("readstates", draw), store.on("servers", draw), voice.on("rosters", draw),
    () => notifier.removeEventListener("change", onNotify));
  draw();
}

function drawServer(container, server, channelId) {
  const perms = server.my_permissions;
  const canManage = has(perms, P.MANAGE_CHANNELS);
  const channels = store.channels.get(server.id) || [];
  if (channelId && store.channels.has(server.id) && !channels.some((c) => c.id === channelId)) {
    navigate(`#/channels/${server.id}`); // the open channel was deleted or hidden from us
    return;
  }
  const categories = [...(store.categories.get(server.id) || [])].sort((a, b) => a.position - b.position);
  const groups = [{ id: null, name: null }, ...categories].map((category) => ({
    category,
    channels: channels.filter((c) => (c.category_id || null) === category.id).sort((a, b) => a.position - b.position),
  }));
  for (const c of channels) if (c.channel_type === "voice") voice.ensureRoster(c.id);
  const menu = serverMenu(server);
  const focusedAction = container.contains(document.activeElement) ? document.activeElement.closest(".menu [data-action]")?.dataset.action : undefined;
  mount(
    container,
    h("header", { class: "sidebar-head" }, h("h2", { id: "server-name" }, store.serverName(server)),
      notifier.isMuted(server.id) ? h("span", { class: "muted", title: "Notifications muted", "aria-label": "muted" }, icon("bellOff", 16)) : null, menu),
    h(
      "nav",
      { class: "channel-list", "aria-label": "Channels" },
      groups.map(({ category, channels: list }) =>
        category.id === null && !list.length
          ? null
          : h(
              "div",
              { class: "channel-group", dataset: category.id ? { categoryId: category.id } : undefined },
              category.id
                ? h("div", { class: "category" }, h("span", {}, category.name || "Category"),
                    canManage ? h("button", { type: "button", class: "icon-button small", "aria-label": `Edit category ${category.name}`, onclick: () => editCategory(server, category) }, icon("gear", 14)) : null)
                : null,
              h("ul", {}, list.map((channel) => channelItem(server, channel, channelId, canManage))),
            ),
      ),
    ),
  );
  if (focusedAction) menu.querySelector(`[data-action="${focusedAction}"]`)?.focus();
}

function channelItem(server, channel, activeId, canManage) {
  const name = channelName(channel);
  const kind = channel.channel_type === "voice" ? "voice" : channel.is_private ? "private" : "text";
  const muted = notifier.channelMuted(channel);
  const unread = muted ? 0 : store.unread(channel.id);
  return h(
    "li",
    { class: `channel${channel.id === activeId ? " active" : ""}${unread ? " unread" : ""}${muted ? " muted-channel" : ""}`, dataset: { channelId: channel.id } },
    h("a", { href: `#/channels/${server.id}/${channel.id}`, "aria-current": channel.id === activeId ? "page" : undefined },
      h("span", { class: "channel-icon", "aria-hidden": "true" }, icon(CHANNEL_ICONS[kind], 16)), h("span", { class: "channel-name" }, name),
      mentionBadge(notifier.mentionCount(channel.id)), badge(unread)),
    canManage ? h("button", { type: "button", class: "icon-button small", "aria-label": `Edit channel ${name}`, onclick: () => editChannel(server, channel) }, icon("gear", 14)) : null,
    channel.channel_type === "voice" ? voiceRoster(channel) : null,
  );
}

/** Who is in a voice channel, under its name in the list. */
function voiceRoster(channel) {
  const people = voice.roster(channel.id);
  if (!people.length) return null;
  return h("ul", { class: "voice-roster", "aria-label": `In ${channelName(channel)}` }, people.map((p) =>
    h("li", { dataset: { userId: p.user_id } }, avatar({ userId: p.user_id, name: p.name, url: p.avatar_url, size: 18 }), h("span", { class: "small" }, p.name),
      p.server_muted ? h("span", { "aria-label": "server muted", title: "Muted by a moderator" }, icon("bellOff", 14)) : null)));
}

function serverMenu(server) {
  const perms = server.my_permissions;
  const isOwner = server.owner_id === store.me.id;
  const actions = [
    has(perms, P.CREATE_INVITES) && ["Invite people", "invite", () => openServerSettings(server, "invites")],
    ["Server settings", "settings", () => openServerSettings(server, "overview")],
    has(perms, P.MANAGE_CHANNELS) && ["Create channel", "create-channel", () => createChannel(server)],
    has(perms, P.MANAGE_CHANNELS) && ["Create category", "create-category", () => createCategory(server)],
    ["Edit my nickname", "nickname", () => editNickname(server)],
    notifier.isMuted(server.id) ? ["Unmute server", "unmute-server", () => notifier.setMuted(server.id, false)] : ["Mute server", "mute-server", () => notifier.setMuted(server.id, true)],
    isOwner ? ["Delete server", "delete-server", () => deleteServer(server)] : ["Leave server", "leave-server", () => leaveServer(server)],
  ].filter(Boolean);
  const list = h("ul", { class: "menu", role: "menu", hidden: true });
  const button = h("button", { type: "button", class: "icon-button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": "Server menu", id: "server-menu" }, icon("chevron", 18));
  const show = (open) => {
    openMenuServerId = open ? server.id : null;
    list.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  const close = () => show(false);
  for (const [label, id, action] of actions) {
    list.append(h("li", { role: "none" }, h("button", { type: "button", role: "menuitem", dataset: { action: id }, onclick: () => { close(); action(); } }, label)));
  }
  button.addEventListener("click", () => {
    show(list.hidden);
    if (!list.hidden) list.querySelector("button")?.focus();
  });
  if (openMenuServerId === server.id) show(true);
  list.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      close();
      button.focus();
    }
  });
  return h("div", { class: "menu-wrap" }, button, list);
}

function categorySelect(server, selected) {
  return h(
    "label",
    { class: "field" },
    h("span", {}, "Category"),
    h("select", { name: "category_id" }, h("option", { value: "" }, "None"),
      (store.categories.get(server.id) || []).map((c) => h("option", { value: c.id, selected: c.id === selected }, c.name))),
  );
}

function createChannel(server) {
  const type = h("label", { class: "field" }, h("span", {}, "Type"),
    h("select", { name: "channel_type" }, h("option", { value: "text" }, "Text"), h("option", { value: "voice" }, "Voice")));
  formModal(
    "Create channel",
    [
      field("Channel name", "name", { required: true, maxlength: 100 }),
      field("Topic (optional)", "topic", { maxlength: 1024 }),
      type,
      categorySelect(server, null),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "is_private" }), " Private: only people with a role allowed below (and admins) can see it"),
      h("fieldset", { class: "roles-pick" }, h("legend", {}, "Roles that can see a private channel"), h("p", { class: "muted small" }, "Loading roles…")),
    ],
    "Create",
    async (values) => {
      const meta = { name: values.name.trim() };
      if (values.topic?.trim()) meta.topic = values.topic.trim();
      const channel = await api("POST", `/servers/${server.id}/channels`, {
        encrypted_meta: encodeMeta(meta),
        channel_type: values.channel_type,
        category_id: values.category_id || null,
        is_private: values.is_private,
      });
      if (values.is_private) await makePrivate(server, channel, values);
      await store.loadChannels(server.id);
      navigate(`#/channels/${server.id}/${channel.id}`);
    },
  );
  fillRolePicker(server);
}

async function fillRolePicker(server) {
  const box = document.querySelector("dialog .roles-pick");
  if (!box) return;
  try {
    const roles = (await api("GET", `/servers/${server.id}/roles`)).filter((r) => !r.is_default);
    box.replaceChildren(h("legend", {}, "Roles that can see a private channel"),
      roles.length ? roles.map((r) => h("label", { class: "check" }, h("input", { type: "checkbox", name: `role:${r.id}` }), ` ${r.name}`))
        : h("p", { class: "muted small" }, "No roles yet: only admins will see it."));
  } catch (failure) {
    box.append(h("p", { class: "error" }, failure.message));
  }
}

/** Private = @everyone loses VIEW_CHANNELS there; the chosen roles and the creator get it back. */
async function makePrivate(server, channel, values) {
  const roles = await api("GET", `/servers/${server.id}/roles`);
  const everyone = roles.find((r) => r.is_default);
  const view = P.VIEW_CHANNELS.toString();
  await api("PUT", `/channels/${channel.id}/overwrites`, { target_type: "role", target_id: everyone.id, allow_bits: "0", deny_bits: view });
  for (const role of roles) {
    if (values[`role:${role.id}`]) {
      await api("PUT", `/channels/${channel.id}/overwrites`, { target_type: "role", target_id: role.id, allow_bits: view, deny_bits: "0" });
    }
  }
  if (server.owner_id !== store.me.id && !has(server.my_permissions, P.ADMINISTRATOR)) {
    await api("PUT", `/channels/${channel.id}/overwrites`, { target_type: "member", target_id: store.me.id, allow_bits: view, deny_bits: "0" });
  }
}

function editChannel(server, channel) {
  const meta = decodeMeta(channel.encrypted_meta, "channel");
  const deleteButton = h("button", { type: "button", class: "danger", onclick: () => {
    confirmModal("Delete channel", `Delete #${meta.name} and all its messages?`, "Delete", async () => {
      await api("DELETE", `/channels/${channel.id}`);
      await store.loadChannels(server.id);
      navigate(`#/channels/${server.id}`);
    });
  } }, "Delete channel");
  const modal = formModal(
    `Edit #${meta.name}`,
    [field("Channel name", "name", { required: true, value: meta.name, maxlength: 100 }), field("Topic", "topic", { value: meta.topic || "", maxlength: 1024 }),
      categorySelect(server, channel.category_id), field("Position", "position", { type: "number", value: channel.position })],
    "Save",
    async (values) => {
      const next = { name: values.name.trim() };
      if (values.topic.trim()) next.topic = values.topic.trim();
      await api("PUT", `/channels/${channel.id}`, { encrypted_meta: encodeMeta(next) });
      if ((values.category_id || null) !== (channel.category_id || null)) {
        await api("PUT", `/channels/${channel.id}/category`, { category_id: values.category_id || null });
      }
      const position = Number.parseInt(values.position, 10);
      if (Number.isFinite(position) && position !== channel.position) {
        await api("PUT", `/servers/${server.id}/channels/reorder`, { order: [{ id: channel.id, position, category_id: values.category_id || null }] });
      }
      await store.loadChannels(server.id);
    },
  );
  modal.body.append(h("div", { class: "row" },
    h("button", { type: "button", class: "secondary", id: "channel-permissions", onclick: () => {
      modal.close();
      editOverwrites(server, channel).catch(() => {});
    } }, "Permissions…"), deleteButton));
}

function createCategory(server) {
  formModal("Create category", [field("Category name", "name", { required: true, maxlength: 100 })], "Create", async ({ name }) => {
    const position = (store.categories.get(server.id) || []).length;
    await api("POST", `/servers/${server.id}/categories`, { name: name.trim(), position });
    await store.loadChannels(server.id);
  });
}

function editCategory(server, category) {
  const modal = formModal("Edit category", [field("Category name", "name", { required: true, value: category.name }), field("Position", "position", { type: "number", value: category.position })], "Save", async ({ name, position }) => {
    await api("PUT", `/servers/${server.id}/categories/${category.id}`, { name: name.trim(), position: Number.parseInt(position, 10) || 0 });
    await store.loadChannels(server.id);
  });
  modal.body.append(h("button", { type: "button", class: "danger", onclick: () => confirmModal("Delete category", `Delete ${category.name}? Its channels stay, without a category.`, "Delete", async () => {
    await api("DELETE", `/servers/${server.id}/categories/${category.id}`);
    modal.close();
    await store.loadChannels(server.id);
  }) }, "Delete category"));
}

function editNickname(server) {
  formModal("Nickname in this server", [field("Nickname (empty to clear)", "nickname", { maxlength: 32 })], "Save", async ({ nickname }) => {
    await api("PUT", `/servers/${server.id}/nickname`, { nickname: nickname.trim() || null });
    store.emit(`members:${server.id}`);
  });
}

function leaveServer(server) {
  confirmModal("Leave server", `Leave ${store.serverName(server)}?`, "Leave", async () => {
    store.leaving.add(server.id);
    await api("DELETE", `/servers/${server.id}/members/@me`);
    await store.loadServers();
    navigate("#/channels/@me");
  });
}

function deleteServer(server) {
  confirmModal("Delete server", `Delete ${store.serverName(server)} for everyone? This cannot be undone.`, "Delete", async () => {
    await api("DELETE", `/servers/${server.id}`);
    await store.loadServers();
    navigate("#/channels/@me");
  });
}

// ---- direct messages ----------------------------------------------------------------------

export function renderDmSidebar(container, channelId) {
  const draw = () => drawDms(container, channelId);
  notifier.addEventListener("change", draw);
  listen(store.on("dms", draw), store.on("readstates", draw), store.on("friends", draw), () => notifier.removeEventListener("change", draw));
  draw();
}

function drawDms(container, channelId) {
  const dms = [...store.dms];
  mount(
    container,
    h("header", { class: "sidebar-head" }, h("h2", {}, "Direct messages")),
    h("nav", { class: "channel-list", "aria-label": "Direct messages" },
      h("ul", {},
        h("li", { class: `channel${!channelId ? " active" : ""}` }, h("a", { href: "#/channels/@me", id: "friends-link", "aria-current": !channelId ? "page" : undefined },
          h("span", { class: "channel-icon", "aria-hidden": "true" }, icon("users", 16)), h("span", { class: "channel-name" }, "Friends"),
          store.pendingRequests ? h("span", { class: "badge unread-count", id: "pending-badge", "aria-label": `${store.pendingRequests} pending requests` }, String(store.pendingRequests)) : null)),
        dms.map((c) => {
          const muted = notifier.channelMuted(c);
          const unread = muted ? 0 : store.unread(c.id);
          return h("li", { class: `channel dm${c.id === channelId ? " active" : ""}${unread ? " unread" : ""}`, dataset: { channelId: c.id } },
            h("a", { href: `#/channels/@me/${c.id}`, "aria-current": c.id === channelId ? "page" : undefined },
              h("span", { class: "channel-icon", "aria-hidden": "true" }, icon(c.channel_type === "group" ? "users" : "at", 16)),
              h("span", { class: "channel-name" }, store.dmTitle(c)),
              c.dm_status && c.dm_status !== "active" ? h("span", { class: "muted small" }, ` (${c.dm_status})`) : null,
              mentionBadge(notifier.mentionCount(c.id)), badge(unread)));
        })),
      dms.length ? null : h("p", { class: "muted small empty-hint" }, "No conversations yet. Open Friends to add someone, then send them a message.")),
  );
}
