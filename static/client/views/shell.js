// The signed-in layout: server rail | sidebar (channels or DMs) + user panel | content | members
// (on phones: one pane at a time, drawers.js). The shell is built once per sign-in; a route change
// re-renders only the parts that depend on it. Notices about one's own account show on top.

import { api, session } from "../api.js";
import { h, mount } from "../dom.js";
import { navigate, takePendingInvite } from "../app.js";
import { icon } from "../icons.js";
import { notifier } from "../notify.js";
import { has, P } from "../perms.js";
import { store } from "../store.js";
import { renderServerSidebar, renderDmSidebar } from "./sidebar.js";
import { closeChat, renderChat } from "./chat.js";
import { closeDrawers, navToggle, scrim } from "./drawers.js";
import { renderFriends } from "./friends.js";
import { renderGroupMembers } from "./group.js";
import { renderMembers } from "./members.js";
import { renderPanel } from "./panel.js";
import { joinServer, renderRail } from "./rail.js";
import { skipLinks, wireShortcuts } from "./shortcuts.js";
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
  shell?.membersCleanup.forEach((fn) => fn());
  shell = null;
}

function build(root) {
  root.classList.add("app-root");
  const rail = h("nav", { class: "rail", "aria-label": "Servers" });
  const sidebar = h("div", { class: "sidebar-body" });
  const panel = h("div", { class: "user-panel" });
  const content = h("section", { class: "content", "aria-label": "Conversation", tabindex: "-1" });
  const members = h("aside", { class: "members", "aria-label": "Members", id: "members-pane" });
  const voiceBar = h("div", { class: "voice-bar", id: "voice-bar", "aria-label": "Voice", hidden: true });
  const callLayer = h("div", { class: "call-layer", id: "call-layer", "aria-live": "polite", hidden: true });
  const keysNotice = h("div", { class: "keys-notice", id: "keys-notice" });
  const tellings = h("div", { class: "tellings", id: "tellings", "aria-live": "assertive" });
  mount(root, skipLinks(), keysNotice, tellings,
    h("div", { class: "shell" }, rail, h("aside", { class: "sidebar", "aria-label": "Channels" }, sidebar, voiceBar, panel), content, members, scrim()), callLayer);
  shell = { root, rail, sidebar, content, members, panel, keysNotice, tellings, cleanup: [], membersCleanup: [], route: null };
  shell.cleanup.push(renderVoiceBar(voiceBar), renderCallLayer(callLayer), wireShortcuts());
  const rerenderRail = () => drawRail();
  shell.cleanup.push(store.on("servers", rerenderRail), store.on("readstates", rerenderRail), store.on("dms", rerenderRail), store.on("friends", rerenderRail));
  notifier.addEventListener("change", rerenderRail);
  shell.cleanup.push(() => notifier.removeEventListener("change", rerenderRail));
  shell.cleanup.push(store.on("images", () => {
    drawRail();
    renderPanel(shell.panel);
  }));
  shell.cleanup.push(store.on("link", () => {
    renderPanel(shell.panel);
    renderKeysNotice();
  }));
  const onTell = (e) => tell(e.detail.text);
  store.bus.addEventListener("tell", onTell);
  shell.cleanup.push(() => store.bus.removeEventListener("tell", onTell));
  const onKey = (e) => e.key === "Escape" && shell?.root.querySelector(".shell.nav-open, .shell.members-open") && closeDrawers();
  document.addEventListener("keydown", onKey);
  shell.cleanup.push(() => document.removeEventListener("keydown", onKey));
  renderKeysNotice();
  shell.cleanup.push(store.on("servers", () => {
    // Kicked, banned or the server was deleted: leave its view.
    const route = shell?.route;
    if (route?.serverId && route.serverId !== "@me" && !store.server(route.serverId)) navigate("#/channels/@me");
  }));
  drawRail();
  renderPanel(shell.panel);
  const invite = takePendingInvite(); // opened from an invite link: offer to join now
  if (invite) setTimeout(() => joinServer(invite), 0);
}

/** A notice about the user's own account (removed, banned, timed out), until dismissed. */
function tell(text) {
  if (!shell) return;
  const note = h("p", { class: "notice telling", role: "alert" }, h("span", {}, text), " ",
    h("button", { type: "button", class: "icon-button small", "aria-label": "Dismiss", onclick: () => note.remove() }, icon("close", 14)));
  shell.tellings.append(note);
}

/** A browser whose keys another browser replaced says so (and offers the way back). */
function renderKeysNotice() {
  if (!shell) return;
  const replaced = store.crypto?.status === "replaced";
  if (replaced) mount(shell.keysNotice, replacedNotice(store.crypto, () => location.reload()));
  else shell.keysNotice.replaceChildren();
}

function drawRail() {
  if (shell) renderRail(shell.rail, shell.route?.serverId);
}

function showMembers(render) {
  shell.membersCleanup.forEach((fn) => fn());
  shell.membersCleanup = [];
  shell.members.hidden = !render;
  if (render) shell.membersCleanup = [render(shell.members)].flat().filter(Boolean);
}

function show(route) {
  shell.route = route;
  closeDrawers();
  drawRail();
  const { serverId, channelId } = route;
  if (serverId === "@me") {
    const channel = channelId ? store.channel(channelId) : null;
    showMembers(channel?.channel_type === "group" ? (c) => renderGroupMembers(c, channel) : null);
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
  showMembers((c) => renderMembers(c, server));
  if (channelId) renderChat(shell.content, { channelId, serverId });
  else {
    const canCreate = has(server.my_permissions, P.MANAGE_CHANNELS);
    mount(shell.content, h("div", { class: "empty" }, navToggle(), h("p", {}, "This server has no channels you can see."),
      h("p", { class: "muted" }, canCreate ? "Create one from the server menu (the arrow next to its name)." : "Ask a moderator for access, or pick another server.")));
  }
  return undefined;
}
