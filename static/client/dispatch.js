// The one place realtime events enter the app: each event type is routed to the stores that keep
// state (store.js: lists, unread counts, membership; conversation.js: the open conversations;
// notify.js: mentions and notifications; emojis.js: custom emojis; report-outcomes.js: decisions
// on my reports; voice.js and calls.js). Views never listen to the socket; they listen to those
// stores.

import { calls } from "./calls.js";
import { conversations } from "./conversation.js";
import { customEmojis } from "./emojis.js";
import { notifier } from "./notify.js";
import { reportOutcomes } from "./report-outcomes.js";
import { store } from "./store.js";
import { voice } from "./voice.js";

const CONVERSATION_EVENTS = ["MessageEdited", "MessageDeleted", "BulkMessagesDeleted", "ReactionAdded", "ReactionRemoved",
  "MessagePinned", "MessageUnpinned", "UserTyping"];
const MEMBERSHIP_EVENTS = ["ServerDeleted", "MemberRemoved", "MemberBanned", "MemberJoined"];
const MEMBER_EVENTS = ["MemberRolesUpdated", "MemberNicknameUpdated", "MemberTimedOut", "MemberUnbanned"];

export function wireRealtime(rt) {
  const on = (type, fn) => rt.addEventListener(type, (e) => fn(e.detail || {}, type));
  on("NewMessage", (m) => {
    store.newMessage(m);
    conversations.get(m.channel_id)?.apply("NewMessage", m);
    notifier.newMessage(m).catch(() => {});
  });
  for (const type of CONVERSATION_EVENTS) on(type, (e) => conversations.get(e.channel_id)?.apply(type, e));
  // An error the server could not pair with a send: shown in the open conversation (and ends a
  // call being placed, when it is about that call).
  on("Error", (e) => {
    conversations.get(store.openChannelId)?.notice(e.message || "Error", true);
    calls.serverError(e.message || "");
  });
  on("ReadStateUpdated", (e) => store.markedRead(e.channel_id));
  on("ServerUpdated", (e) => store.serverUpdated(e.server_id));
  on("ChannelUpdated", (e) => store.channelUpdated(e));
  on("ReportResolved", (e) => reportOutcomes.resolved(e));
  for (const type of MEMBERSHIP_EVENTS) on(type, (e) => store.membershipChanged(type, e));
  for (const type of MEMBER_EVENTS) on(type, (e) => store.memberChanged(type, e));
  on("SenderKeysUpdated", ({ channel_id: channelId }) => {
    store.crypto.fetchSenderKeys(channelId).then(() => store.emit(`keys:${channelId}`), () => {});
  });
  for (const type of ["FriendRequestReceived", "FriendRequestAccepted", "FriendRemoved"]) on(type, () => store.friendsChanged());
  on("DmRequestReceived", () => {
    store.loadDms().catch(() => {});
    store.friendsChanged();
  });
  for (const type of ["EmojiCreated", "EmojiDeleted"]) on(type, (e) => customEmojis.changed(type, e));
  on("VoiceStateUpdate", (e) => voice.stateUpdate(e));
  on("VoiceMuteUpdate", (e) => voice.muteUpdate(e));
  calls.attach(rt, store.me.id, (channelId) => {
    const channel = store.channel(channelId);
    return channel ? store.dmTitle(channel) : "a conversation";
  });
  on("CallRinging", (e) => {
    if (!store.channel(e.channel_id)) store.loadDms().catch(() => {}); // a new DM
    calls.ringing(e);
  });
  on("CallAccepted", (e) => calls.accepted(e));
  on("CallRejected", (e) => calls.rejected(e));
  on("CallEnded", (e) => calls.ended(e));
  on("PresenceUpdate", (p) => store.bus.dispatchEvent(new CustomEvent("presence", { detail: p })));
  rt.addEventListener("status", (e) => {
    if (e.detail.live && store.status !== "online") rt.send("SetStatus", { status: store.status });
    store.emit("link");
  });
  // The server closed the socket for good (this session was signed out elsewhere).
  rt.addEventListener("revoked", () => store.sessionEnded());
}
