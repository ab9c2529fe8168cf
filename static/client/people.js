// Names and member lists: who a user id is in a given server or DM (nickname, display name,
// username), loaded once per view and kept for the session.

import { api } from "./api.js";
import { store } from "./store.js";

const serverMembers = new Map(); // server id -> Promise<ServerMemberResponse[]>
const profiles = new Map(); // user id -> Promise<profile>

/** Every member of a server (offset pages of 100). */
export function loadServerMembers(serverId, fresh = false) {
  if (fresh || !serverMembers.has(serverId)) {
    const promise = (async () => {
      const all = [];
      for (let offset = 0; ; offset += 100) {
        const page = await api("GET", `/servers/${serverId}/members?limit=100&offset=${offset}`);
        all.push(...page);
        if (page.length < 100) return all;
      }
    })();
    serverMembers.set(serverId, promise);
    promise.catch(() => serverMembers.delete(serverId));
  }
  return serverMembers.get(serverId);
}

export function profile(userId, fresh = false) {
  if (fresh || !profiles.has(userId)) {
    const promise = api("GET", `/users/${userId}/profile`);
    profiles.set(userId, promise);
    promise.catch(() => profiles.delete(userId));
  }
  return profiles.get(userId);
}

/** A name resolver for one conversation: members first, then profiles for people who left. */
export async function nameResolver(serverId, channelId) {
  const names = new Map();
  const avatars = new Map();
  if (serverId) {
    for (const m of await loadServerMembers(serverId).catch(() => [])) {
      names.set(m.user_id, m.nickname || m.display_name || m.username);
      avatars.set(m.user_id, m.avatar_url || null);
    }
  } else {
    for (const m of store.dmMembers.get(channelId) || []) {
      names.set(m.user_id, m.display_name || m.username);
      avatars.set(m.user_id, m.avatar_url || null);
    }
  }
  names.set(store.me.id, names.get(store.me.id) || store.me.display_name || store.me.username);
  avatars.set(store.me.id, store.me.avatar_url || avatars.get(store.me.id) || null);
  return {
    name: (userId) => names.get(userId) || null,
    avatar: (userId) => avatars.get(userId) || null,
    async resolve(userId) {
      if (names.has(userId)) return names.get(userId);
      try {
        const p = await profile(userId);
        names.set(userId, p.display_name || p.username);
        avatars.set(userId, p.avatar_url || null);
      } catch {
        names.set(userId, "Unknown user");
      }
      return names.get(userId);
    },
  };
}

export function forgetServerMembers(serverId) {
  serverMembers.delete(serverId);
}
