// The server rail: direct messages (with unread DMs and pending requests counted), the servers
// (an unread dot, a mention count), then create and join. Invite links pasted into "Join a server"
// work as well as bare codes.

import { api } from "../api.js";
import { navigate } from "../app.js";
import { h, mount } from "../dom.js";
import { icon } from "../icons.js";
import { initials } from "../media.js";
import { notifier } from "../notify.js";
import { store } from "../store.js";
import { encodeMeta, inviteCode } from "../util.js";
import { field, formModal } from "./modal.js";

function countBadge(count, label) {
  return count > 0 ? h("span", { class: "rail-badge", "aria-hidden": "true", title: label }, count > 99 ? "99+" : String(count)) : null;
}

function railLink({ label, href, active, content, unread, badge, id }) {
  const extra = [unread && "unread messages", badge && `${badge.count} ${badge.kind}`].filter(Boolean).join(", ");
  return h("a", { class: `rail-item${active ? " active" : ""}${unread ? " unread" : ""}`, href, title: label, "aria-label": extra ? `${label} (${extra})` : label,
    "aria-current": active ? "page" : undefined, dataset: id ? { serverId: id } : undefined },
  content, badge ? countBadge(badge.count, badge.kind) : null);
}

export function renderRail(container, currentServerId) {
  const dmUnread = store.dms.filter((c) => store.unread(c.id) > 0 && !notifier.channelMuted(c)).length;
  const dmCount = dmUnread + store.pendingRequests;
  mount(container,
    railLink({ label: "Direct messages", href: "#/channels/@me", active: currentServerId === "@me", content: icon("chat", 24), unread: dmUnread > 0,
      badge: dmCount ? { count: dmCount, kind: store.pendingRequests ? "unread or pending requests" : "unread" } : null }),
    h("hr", { class: "rail-sep" }),
    store.servers.map((server) => {
      const name = store.serverName(server);
      const unread = !notifier.isMuted(server.id) && (store.channels.get(server.id) || []).some((c) => store.unread(c.id) > 0 && !notifier.channelMuted(c));
      const mentions = notifier.serverMentions(server.id);
      const iconUrl = typeof server.icon_url === "string" && server.icon_url.startsWith("/api/v1/") ? server.icon_url : null;
      return railLink({ label: name, href: `#/channels/${server.id}`, active: currentServerId === server.id, id: server.id, unread,
        content: iconUrl ? h("img", { class: "server-icon", src: store.imageUrl(iconUrl), alt: "" }) : initials(name),
        badge: mentions ? { count: mentions, kind: "mentions" } : null });
    }),
    h("button", { type: "button", class: "rail-item add", title: "Create a server", "aria-label": "Create a server", id: "create-server", onclick: createServer }, icon("plus", 24)),
    h("button", { type: "button", class: "rail-item add", title: "Join a server", "aria-label": "Join a server", id: "join-server", onclick: () => joinServer() }, icon("join", 22)));
}

function createServer() {
  formModal("Create a server", [field("Server name", "name", { required: true, maxlength: 100 })], "Create", async ({ name }) => {
    const server = await api("POST", "/servers", { encrypted_meta: encodeMeta({ name: name.trim() }) });
    await store.loadServers();
    navigate(`#/channels/${server.id}`);
  });
}

/** "Join a server": a code or an invite link (prefilled when the page was opened from a link). */
export function joinServer(prefill = "") {
  return formModal("Join a server", [
    field("Invite link or code", "code", { required: true, autocomplete: "off", value: prefill, placeholder: `${location.origin}/invite/…` }),
  ], "Join", async ({ code }) => {
    const server = await api("POST", `/invites/${encodeURIComponent(inviteCode(code))}/join`);
    await store.loadServers();
    navigate(`#/channels/${server.id}`);
  });
}
