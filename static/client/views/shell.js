// The signed-in layout: server rail | sidebar (channels or DMs) + user panel | content | members.
// The shell is built once per sign-in; a route change re-renders only the parts that depend on it.

import { api, session } from "../api.js";
import { h, mount } from "../dom.js";
import { navigate } from "../app.js";
import { store } from "../store.js";
import { field, formModal } from "./modal.js";
import { renderServerSidebar, renderDmSidebar } from "./sidebar.js";
import { closeChat, renderChat } from "./chat.js";
import { renderFriends } from "./friends.js";
import { renderMembers } from "./members.js";
import { encodeMeta } from "../util.js";
import { avatar, initials } from "../media.js";
import { renderCallLayer } from "./call.js";
import { renderVoiceBar } from "./voice.js";
import { renderKeyGate, replacedNotice } from "./keys.js";

let shell = null; // {root, rail, sidebar, content, members, panel, cleanup}

export async function renderShell(root, route) {
  if (!shell || shell.root !== root || !root.contains(shell.rail)) {
    mount(root, h("p", { class: "loading", role: "status" }, "Loading Haven…"));
    try {
      const status = store.running ? "ready" : await store.start();
      if (status === "keys") {
        // No keys for this account in this browser: restore them or make new ones first.
        await renderKeyGate(root, store.crypto, {
          onReady: async () => {
            await store.run();
            build(root);
            show(route);
          },
          onCancel: async () => {
            await api("POST", "/auth/logout").catch(() => {});
            session.clear();
            navigate("#/login");
          },
        });
        return undefined;
      }
    } catch (failure) {
      if (!session.load()) return navigate("#/login");
      mount(
        root,
        h("div", { class: "card" }, h("h1", {}, "Haven could not start"), h("p", { class: "error", role: "alert" }, failure.message),
          h("button", { type: "button", onclick: () => location.reload() }, "Try again")),
      );
      return undefined;
    }
    build(root);
  }
  return show(route);
}

export function resetShell() {
  closeChat();
  shell?.cleanup.forEach((fn) => fn());
  shell = null;
}

function build(root) {
  root.classList.add("app-root");
  const rail = h("nav", { class: "rail", "aria-label": "Servers" });
  const sidebar = h("div", { class: "sidebar-body" });
  const panel = h("div", { class: "user-panel" });
  const content = h("section", { class: "content", "aria-label": "Conversation" });
  const members = h("aside", { class: "members", "aria-label": "Members" });
  const voiceBar = h("div", { class: "voice-bar", id: "voice-bar", "aria-label": "Voice", hidden: true });
  const callLayer = h("div", { class: "call-layer", id: "call-layer", "aria-live": "polite", hidden: true });
  const keysNotice = h("div", { class: "keys-notice", id: "keys-notice" });
  mount(root, keysNotice, h("div", { class: "shell" }, rail, h("aside", { class: "sidebar" }, sidebar, voiceBar, panel), content, members), callLayer);
  shell = { root, rail, sidebar, content, members, panel, keysNotice, cleanup: [], route: null };
  shell.cleanup.push(renderVoiceBar(voiceBar), renderCallLayer(callLayer));
  shell.cleanup.push(store.on("images", () => {
    renderRail();
    renderPanel();
  }));
  const rerenderRail = () => renderRail();
  shell.cleanup.push(store.on("servers", rerenderRail), store.on("readstates", rerenderRail), store.on("dms", rerenderRail));
  shell.cleanup.push(store.on("link", () => {
    renderPanel();
    renderKeysNotice();
  }));
  renderKeysNotice();
  shell.cleanup.push(store.on("servers", () => {
    // Kicked, banned or the server was deleted: leave its view.
    const route = shell?.route;
    if (route?.serverId && route.serverId !== "@me" && !store.server(route.serverId)) navigate("#/channels/@me");
  }));
  renderRail();
  renderPanel();
}

/** A browser whose keys another browser replaced says so (and offers the way back). */
function renderKeysNotice() {
  if (!shell) return;
  const replaced = store.crypto?.status === "replaced";
  if (replaced) mount(shell.keysNotice, replacedNotice(store.crypto, () => location.reload()));
  else shell.keysNotice.replaceChildren();
}

function show(route) {
  shell.route = route;
  shell.root.querySelector(".shell")?.classList.remove("nav-open");
  renderRail();
  const { serverId, channelId } = route;
  if (serverId === "@me") {
    shell.members.hidden = true;
    renderDmSidebar(shell.sidebar, channelId);
    if (channelId) renderChat(shell.content, { channelId, serverId: null });
    else renderFriends(shell.content);
    return;
  }
  const server = store.server(serverId);
  if (!server) return navigate("#/channels/@me");
  const channels = store.channels.get(serverId) || [];
  if (!channelId) {
    const first = channels.find((c) => c.channel_type === "text") || channels[0];
    if (first) return navigate(`#/channels/${serverId}/${first.id}`);
  }
  renderServerSidebar(shell.sidebar, server, channelId);
  shell.members.hidden = false;
  renderMembers(shell.members, server);
  if (channelId) renderChat(shell.content, { channelId, serverId });
  else mount(shell.content, h("div", { class: "empty" }, h("p", {}, "This server has no channels you can see.")));
  return undefined;
}

function railButton({ label, href, active, text, unread, id, icon }) {
  return h(
    "a",
    {
      class: `rail-item${active ? " active" : ""}${unread ? " unread" : ""}`,
      href,
      title: label,
      "aria-label": unread ? `${label} (unread messages)` : label,
      "aria-current": active ? "page" : undefined,
      dataset: id ? { serverId: id } : undefined,
    },
    icon ? h("img", { class: "server-icon", src: store.imageUrl(icon), alt: "" }) : text,
  );
}

function renderRail() {
  if (!shell) return;
  const current = shell.route?.serverId;
  const dmUnread = store.dms.some((c) => store.unread(c.id) > 0);
  const items = [
    // Phones: the channel list is an overlay opened from here (app.css, max-width 600px).
    h("button", { type: "button", class: "rail-item nav-toggle", id: "nav-toggle", "aria-label": "Channels and conversations",
      "aria-expanded": String(shell.root.querySelector(".shell")?.classList.contains("nav-open") || false),
      onclick: () => {
        shell.root.querySelector(".shell").classList.toggle("nav-open");
        renderRail();
      } }, "☰"),
    railButton({ label: "Direct messages", href: "#/channels/@me", active: current === "@me", text: "✉", unread: dmUnread }),
    h("hr", { class: "rail-sep" }),
    ...store.servers.map((server) => {
      const name = store.serverName(server);
      const unread = (store.channels.get(server.id) || []).some((c) => store.unread(c.id) > 0);
      const icon = typeof server.icon_url === "string" && server.icon_url.startsWith("/api/v1/") ? server.icon_url : null;
      return railButton({ label: name, href: `#/channels/${server.id}`, active: current === server.id, text: initials(name), unread, id: server.id, icon });
    }),
    h("button", { type: "button", class: "rail-item add", title: "Create a server", "aria-label": "Create a server", id: "create-server", onclick: createServer }, "+"),
    h("button", { type: "button", class: "rail-item add", title: "Join a server", "aria-label": "Join a server", id: "join-server", onclick: joinServer }, "⇥"),
  ];
  mount(shell.rail, ...items);
}

function createServer() {
  formModal("Create a server", [field("Server name", "name", { required: true, maxlength: 100 })], "Create", async ({ name }) => {
    const server = await api("POST", "/servers", { encrypted_meta: encodeMeta({ name: name.trim() }) });
    await store.loadServers();
    navigate(`#/channels/${server.id}`);
  });
}

function joinServer() {
  formModal("Join a server", [field("Invite code", "code", { required: true, autocomplete: "off" })], "Join", async ({ code }) => {
    const server = await api("POST", `/invites/${encodeURIComponent(code.trim())}/join`);
    await store.loadServers();
    navigate(`#/channels/${server.id}`);
  });
}

const STATUSES = [
  ["online", "Online"],
  ["idle", "Idle"],
  ["dnd", "Do not disturb"],
  ["invisible", "Invisible"],
];

function renderPanel() {
  if (!shell) return;
  const me = store.me;
  const select = h(
    "select",
    { "aria-label": "Status", class: "status-select", id: "status-select" },
    STATUSES.map(([value, label]) => h("option", { value, selected: store.status === value }, label)),
  );
  select.addEventListener("change", () => store.setStatus(select.value));
  const live = store.realtime?.live;
  const replaced = store.crypto?.status === "replaced";
  mount(
    shell.panel,
    h("span", { class: "me-avatar" }, avatar({ userId: me.id, name: me.display_name || me.username, url: me.avatar_url, size: 32 }),
      h("span", { class: `presence-dot ${store.status}`, "aria-hidden": "true" })),
    h("div", { class: "who" }, h("strong", { id: "me-name" }, me.display_name || me.username), h("span", { class: "muted small" }, `@${me.username}`)),
    select,
    replaced
      ? h("span", { class: "link-state keys-replaced", title: "This browser's encryption keys were replaced in another browser", id: "link-state" }, "keys replaced")
      : h("span", { class: `link-state ${live ? "live" : "polling"}`, title: live ? "Live updates" : "Live updates unavailable; refreshing every few seconds", id: "link-state" }, live ? "live" : "polling"),
    h("a", { href: "#/settings", class: "icon-button", title: "Settings", "aria-label": "Settings", id: "settings-link" }, "⚙"),
  );
}
