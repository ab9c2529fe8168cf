// Group DMs: the member list (in the members pane), adding friends (POST /channels/{id}/members,
// at most 10 people), renaming (PUT /channels/{id}, a port addition: docs/api-messages.md),
// leaving. Adding someone changes who reads the group: the next message is distributed to them
// (sender keys), as for any new reader.

import { api } from "../api.js";
import { navigate } from "../app.js";
import { h, mount } from "../dom.js";
import { icon } from "../icons.js";
import { avatar } from "../media.js";
import { store } from "../store.js";
import { decodeMeta, renamedGroupMeta } from "../util.js";
import { closeChat } from "./chat.js";
import { confirmModal, field, formModal } from "./modal.js";
import { showProfile } from "./profile.js";

const MAX_GROUP = 10;

/** The header buttons of a group DM: add people, rename, leave. */
export function groupTools(channel) {
  return [
    h("button", { type: "button", class: "icon-button", id: "rename-group", "aria-label": "Rename the group", title: "Rename the group", onclick: () => renameGroup(channel) }, icon("edit", 20)),
    h("button", { type: "button", class: "icon-button", id: "add-to-group", "aria-label": "Add people", title: "Add people", onclick: () => addPeople(channel) }, icon("plus", 20)),
    h("button", { type: "button", class: "small secondary", id: "leave-group", onclick: () => confirmModal("Leave group",
      "Leave this group? You will no longer read what is sent here (the others' clients re-key without you).", "Leave", async () => {
        // Close the conversation first: its own "left" line may arrive before the answer, and
        // nothing here may ask for the group afterwards.
        closeChat();
        navigate("#/channels/@me");
        await api("DELETE", `/channels/${channel.id}/leave`);
        await store.loadDms();
      }) }, "Leave"),
  ];
}

/** Writes the group's meta with the new name (util.js keeps type, participants and names). */
function renameGroup(channel) {
  const current = store.channel(channel.id) || channel;
  const modal = formModal("Rename the group", [
    h("p", { class: "muted small" }, "Everyone in the group sees the new name. Like every conversation name, it is not end-to-end encrypted: the server can read it."),
    field("Group name", "name", { value: decodeMeta(current.encrypted_meta, "").name, maxlength: 100, placeholder: "Empty: named after its members" }),
  ], "Rename", async (values) => {
    const meta = renamedGroupMeta(current.encrypted_meta, values.name.trim(), store.dmMembers.get(channel.id) || []);
    const updated = await api("PUT", `/channels/${channel.id}`, { encrypted_meta: meta });
    store.channelUpdated({ channel_id: channel.id, encrypted_meta: updated.encrypted_meta });
  });
  modal.dialog.id = "rename-group-dialog";
}

async function addPeople(channel) {
  const members = store.dmMembers.get(channel.id) || [];
  const inGroup = new Set(members.map((m) => m.user_id));
  const friends = (await api("GET", "/friends?limit=100")).filter((f) => f.status === "accepted" && !inGroup.has(f.user_id));
  const room = MAX_GROUP - members.length;
  formModal("Add people to the group", [
    h("p", { class: "muted small" }, room > 0 ? `Up to ${room} more (a group has at most ${MAX_GROUP} people). They read what is sent from now on.` : "This group is full."),
    h("fieldset", { class: "pick-list" }, h("legend", {}, "Friends"),
      friends.length ? friends.map((f) => h("label", { class: "check" }, h("input", { type: "checkbox", name: `u:${f.user_id}`, dataset: { username: f.username } }), ` ${f.display_name || f.username}`))
        : h("p", { class: "muted" }, "No friends to add: everyone is here already, or add friends first.")),
  ], "Add", async (values) => {
    const ids = Object.keys(values).filter((k) => k.startsWith("u:") && values[k]).map((k) => k.slice(2));
    if (!ids.length) throw new Error("Pick at least one friend.");
    for (const id of ids) await api("POST", `/channels/${channel.id}/members`, { user_id: id });
    store.dmMembers.set(channel.id, await api("GET", `/channels/${channel.id}/members`));
    store.crypto.invalidate(channel.id); // new readers get the sender key with the next message
    store.emit("dms");
  });
}

/** The members pane of a group DM. */
export function renderGroupMembers(container, channel) {
  const draw = () => {
    const members = store.dmMembers.get(channel.id) || [];
    mount(container, h("h2", { class: "members-head" }, `Members — ${members.length}`),
      h("ul", { class: "member-list", id: "group-members" }, members.map((m) => h("li", { class: "member", dataset: { userId: m.user_id, username: m.username } },
        avatar({ userId: m.user_id, name: m.display_name || m.username, url: m.avatar_url, size: 28 }),
        h("button", { type: "button", class: "link member-name", onclick: () => showProfile(m.user_id) }, m.display_name || m.username),
        m.user_id === store.me.id ? h("span", { class: "muted small" }, "you") : null))));
  };
  draw();
  const refresh = async () => {
    if (store.openChannelId !== channel.id) return; // left, or moved on: nothing to ask
    store.dmMembers.set(channel.id, await api("GET", `/channels/${channel.id}/members`).catch(() => store.dmMembers.get(channel.id) || []));
    draw();
  };
  refresh();
  return [store.on("dms", draw), store.on(`group:${channel.id}`, refresh)];
}
