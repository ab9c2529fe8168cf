// Small display helpers for images and message text: avatars (or initials), server icons, and
// message text with links and a server's custom emojis (`:name:`). Everything user-provided stays
// text or an attribute; only http(s) URLs become links, and only this instance's image routes
// become <img> sources (the CSP allows no other image origin).

import { h } from "./dom.js";
import { customEmojis } from "./emojis.js";
import { store } from "./store.js";

export function initials(name) {
  return String(name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map((w) => [...w][0]).join("").toUpperCase() || "?";
}

const localImage = (url) => typeof url === "string" && url.startsWith("/api/v1/");

/** An avatar: the user's image when set, else their initials on a colour derived from the id. */
export function avatar({ userId, name, url, size = 32, className = "" }) {
  const style = `width:${size}px;height:${size}px`;
  if (localImage(url)) {
    return h("img", { class: `avatar ${className}`, src: store.imageUrl(url), alt: "", style, loading: "lazy", dataset: { userId } });
  }
  let hue = 0;
  for (const c of String(userId || name || "")) hue = (hue * 31 + c.charCodeAt(0)) % 360;
  return h("span", { class: `avatar initials ${className}`, style: `${style};background:hsl(${hue} 45% 40%);font-size:${Math.round(size * 0.4)}px`, "aria-hidden": "true", dataset: { userId } }, initials(name));
}

const TOKEN = /(https?:\/\/[^\s<>"'`]+)|:([A-Za-z0-9_]{2,64}):|(?<![\w@])@([\w-]{1,32})/g;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** The first http(s) URL in a text, without trailing punctuation. */
export function firstUrl(text) {
  const match = /https?:\/\/[^\s<>"'`]+/.exec(text || "");
  return match ? match[0].replace(TRAILING, "") : null;
}

export function link(url, text = url) {
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", class: "ext-link" }, text);
}

/**
 * Message text as nodes: URLs as links, `:name:` as the server's custom emoji when it exists,
 * and `@me` / `@everyone` highlighted as a mention of the reader.
 */
export function richText(text, serverId = null, me = null) {
  const emojis = serverId ? customEmojis.byName(serverId) : new Map();
  const out = [];
  let last = 0;
  for (const match of String(text).matchAll(TOKEN)) {
    const [whole] = match;
    const start = match.index;
    if (match[1]) {
      const url = match[1].replace(TRAILING, "");
      if (start > last) out.push(text.slice(last, start));
      out.push(link(url));
      last = start + url.length;
      continue;
    }
    if (match[3]) {
      const name = match[3].toLowerCase();
      if (name !== "everyone" && name !== me?.toLowerCase()) continue;
      if (start > last) out.push(text.slice(last, start));
      out.push(h("span", { class: "mention me" }, whole));
      last = start + whole.length;
      continue;
    }
    const emoji = emojis.get(match[2]);
    if (!emoji) continue;
    if (start > last) out.push(text.slice(last, start));
    out.push(emojiImage(emoji));
    last = start + whole.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function emojiImage(emoji, className = "emoji") {
  return h("img", { class: className, src: emoji.image_url, alt: `:${emoji.name}:`, title: `:${emoji.name}:`, dataset: { emojiId: emoji.id, emojiName: emoji.name } });
}

/** A reaction's emoji: a custom emoji id of this server shows as its image. */
export function reactionEmoji(value, serverId) {
  if (serverId && /^[0-9a-f-]{36}$/i.test(value)) {
    const emoji = customEmojis.list(serverId).find((e) => e.id === value);
    if (emoji) return emojiImage(emoji, "emoji small");
    return h("span", { class: "muted", title: "A custom emoji that no longer exists" }, "❔");
  }
  return value;
}
