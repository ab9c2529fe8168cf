// Small helpers shared by the modules: base64 and UTF-8 conversions, UUID bytes, the
// server/channel "meta" encoding, and time formatting. No DOM, no network.

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export const utf8 = (text) => encoder.encode(text);
export const fromUtf8 = (bytes) => decoder.decode(bytes);

/** Standard base64 with padding (the API rejects the URL-safe alphabet). */
export function toB64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  // Chunked: String.fromCharCode(...big array) overflows the call stack on large inputs.
  for (let i = 0; i < view.length; i += 0x8000) {
    binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromB64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function concat(...parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

export const randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n));

export function uuidToBytes(id) {
  const hex = id.replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${id}`);
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i += 1) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function bytesToUuid(bytes) {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Server and channel names travel in `encrypted_meta` as base64 of UTF-8 JSON
 * (`{"name": ..., "topic"?: ...}`), exactly as the original web client writes them. They are not
 * encrypted (every member must read them before holding any key).
 */
export function encodeMeta(meta) {
  return toB64(utf8(JSON.stringify(meta)));
}

/**
 * The meta of a new DM, exactly as the original writes it (e2ee.md 8.1): original clients route a
 * `dm` channel to the Double Ratchet only with `type` "dm" and both participants listed.
 */
export function dmMeta(me, peer) {
  return encodeMeta({ type: "dm", participants: [me.id, peer.id], names: { [me.id]: me.username, [peer.id]: peer.username } });
}

/** A group DM's meta (8.1): optional name, creator first, display names (else usernames). */
export function groupMeta(me, name, members) {
  const meta = { type: "group" };
  if (name) meta.name = name;
  meta.participants = [me.id, ...members.map((m) => m.id)];
  meta.names = Object.fromEntries([[me.id, me.display_name || me.username], ...members.map((m) => [m.id, m.name])]);
  return encodeMeta(meta);
}

/**
 * A group's meta with a new name (empty: no name, as the original omits a blank one). The rest is
 * kept as it is, `type`, `participants` and `names` included (the original routes by them); a
 * meta that is not a JSON object gets them from `members` (ChannelMemberInfo[]).
 */
export function renamedGroupMeta(b64, name, members) {
  let old = {};
  try {
    const value = decodeJsonB64(b64);
    if (value && typeof value === "object" && !Array.isArray(value)) old = value;
  } catch {
    /* not JSON: start over from the members */
  }
  const { type, name: _previous, participants, names, ...rest } = old;
  const meta = { type: type || "group" };
  if (name) meta.name = name;
  meta.participants = Array.isArray(participants) ? participants : members.map((m) => m.user_id);
  meta.names = names && typeof names === "object" ? names : Object.fromEntries(members.map((m) => [m.user_id, m.display_name || m.username]));
  return encodeMeta({ ...meta, ...rest });
}

/** base64 of UTF-8 JSON (system messages, meta) -> the value; throws when it is not that. */
export const decodeJsonB64 = (b64) => JSON.parse(fromUtf8(fromB64(b64)));

/** Reads a meta blob; the server's default channel carries the plain bytes `welcome`. */
export function decodeMeta(b64, fallbackName = "unnamed") {
  try {
    const text = fromUtf8(fromB64(b64));
    try {
      const value = JSON.parse(text);
      if (value && typeof value === "object" && typeof value.name === "string") return value;
      // A JSON object without a name (a group DM named by nobody): no name, not its text.
      if (value && typeof value === "object" && !Array.isArray(value)) return { ...value, name: fallbackName };
    } catch {
      /* not JSON: a plain name such as "welcome" */
    }
    return text.trim() ? { name: text.trim() } : { name: fallbackName };
  } catch {
    return { name: fallbackName };
  }
}

export function formatTime(iso) {
  const date = new Date(iso);
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString([], { dateStyle: "short", timeStyle: "short" });
}

export const displayName = (user) => user?.nickname || user?.display_name || user?.username || "Unknown";

/** Collapses bursts of calls into one trailing call (used for refreshes triggered by events). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** The invite code inside what someone pasted: a bare code, or a link ending in /invite/<code>. */
export function inviteCode(text) {
  const value = String(text || "").trim();
  const link = /\/invite\/([^/?#\s]+)\/?(?:[?#].*)?$/.exec(value);
  return link ? decodeURIComponent(link[1]) : value;
}
