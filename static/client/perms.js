// Permission bits (api.md 3.1). Bitfields arrive as decimal strings; BigInt keeps all 63 bits.

export const P = {
  ADMINISTRATOR: 1n,
  MANAGE_SERVER: 2n,
  MANAGE_ROLES: 4n,
  MANAGE_CHANNELS: 8n,
  KICK_MEMBERS: 16n,
  BAN_MEMBERS: 32n,
  MANAGE_MESSAGES: 64n,
  VIEW_CHANNELS: 128n,
  SEND_MESSAGES: 256n,
  CREATE_INVITES: 512n,
  MANAGE_INVITES: 1024n,
  ADD_REACTIONS: 2048n,
  MENTION_EVERYONE: 4096n,
  ATTACH_FILES: 8192n,
  READ_MESSAGE_HISTORY: 16384n,
  MANAGE_EMOJIS: 32768n,
  MUTE_MEMBERS: 65536n,
  STREAM: 131072n,
  PRIORITY_SPEAKER: 262144n,
  USE_VOICE_ACTIVITY: 524288n,
  USE_EXTERNAL_EMOJIS: 1048576n,
  MANAGE_WEBHOOKS: 2097152n,
  VIEW_AUDIT_LOG: 4194304n,
  MANAGE_EVENTS: 8388608n,
  MANAGE_THREADS: 16777216n,
  MODERATE_MEMBERS: 33554432n,
  MANAGE_NICKNAMES: 67108864n,
};

export const LABELS = {
  ADMINISTRATOR: "Administrator (every permission)",
  MANAGE_SERVER: "Manage server",
  MANAGE_ROLES: "Manage roles",
  MANAGE_CHANNELS: "Manage channels",
  KICK_MEMBERS: "Kick members",
  BAN_MEMBERS: "Ban members",
  MANAGE_MESSAGES: "Manage messages",
  VIEW_CHANNELS: "View channels",
  SEND_MESSAGES: "Send messages",
  CREATE_INVITES: "Create invites",
  MANAGE_INVITES: "Manage invites",
  ADD_REACTIONS: "Add reactions",
  ATTACH_FILES: "Attach files",
  READ_MESSAGE_HISTORY: "Read message history",
  MODERATE_MEMBERS: "Time out members",
  VIEW_AUDIT_LOG: "View audit log",
};

/** What each permission lets a member do, as the role and channel editors explain it. */
export const DESCRIPTIONS = {
  ADMINISTRATOR: "Every permission, in every channel. Give it only to people you trust completely.",
  MANAGE_SERVER: "Rename the server, change its icon, set other members' nicknames.",
  MANAGE_ROLES: "Create, edit and delete roles below their own, and give them to members.",
  MANAGE_CHANNELS: "Create, edit, reorder and delete channels and categories, and set channel permissions.",
  KICK_MEMBERS: "Remove members from the server (they can come back with an invite).",
  BAN_MEMBERS: "Remove members for good, and lift bans.",
  MANAGE_MESSAGES: "Delete and pin other people's messages.",
  VIEW_CHANNELS: "See the channel and read it. Without it, the channel is hidden.",
  SEND_MESSAGES: "Write in text channels.",
  CREATE_INVITES: "Create invite links to the server.",
  MANAGE_INVITES: "See and revoke everyone's invites.",
  ADD_REACTIONS: "React to messages.",
  ATTACH_FILES: "Send files and images (encrypted in the browser).",
  READ_MESSAGE_HISTORY: "Read messages sent before they opened the channel.",
  MODERATE_MEMBERS: "Time members out: they can read, but not write or react, until it ends.",
  VIEW_AUDIT_LOG: "Read the server's log of moderation and settings changes.",
};

export function parsePerm(text) {
  try {
    return BigInt(text ?? 0);
  } catch {
    return 0n;
  }
}

/** "Has X": ADMINISTRATOR holds everything (api.md 3.3). */
export function has(bits, flag) {
  const value = typeof bits === "bigint" ? bits : parsePerm(bits);
  return (value & P.ADMINISTRATOR) !== 0n || (value & flag) === flag;
}
