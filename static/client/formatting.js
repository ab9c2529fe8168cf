// Rich text in the payload's `formatting` (e2ee.md 6.3): a TipTap/ProseMirror document.
//
// Rendering is safe by construction: a whitelist of node and mark types becomes DOM through h()
// (text nodes only, never markup); links must be http(s); images only from this instance's
// /api/v1/ routes (custom emojis); anything unknown renders its text content. When a document
// cannot be rendered the caller shows the payload's plain `text`.
//
// Sending: markdown.js turns the composer's Markdown-style text into such a document.

import { h } from "./dom.js";
import { link } from "./media.js";

const MAX_DEPTH = 12;
const MAX_NODES = 2000;
const isHttp = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

function textOf(node, depth = 0) {
  if (!node || depth > MAX_DEPTH) return "";
  if (typeof node.text === "string") return node.text;
  if (Array.isArray(node.content)) return node.content.map((c) => textOf(c, depth + 1)).join("");
  return "";
}

function markedText(node) {
  let out = node.text;
  const marks = Array.isArray(node.marks) ? node.marks : [];
  for (const mark of marks) {
    switch (mark?.type) {
      case "bold": out = h("strong", {}, out); break;
      case "italic": out = h("em", {}, out); break;
      case "strike": out = h("s", {}, out); break;
      case "underline": out = h("u", {}, out); break;
      case "code": out = h("code", {}, out); break;
      case "spoiler": out = h("span", { class: "spoiler", tabindex: "0", title: "Spoiler" }, out); break;
      case "link": out = isHttp(mark.attrs?.href) ? link(mark.attrs.href, out) : out; break;
      default: break;
    }
  }
  return out;
}

/** DOM nodes for a TipTap document, or null when it is not one. */
export function renderDoc(doc, { meId = null } = {}) {
  if (!doc || doc.type !== "doc" || !Array.isArray(doc.content)) return null;
  let budget = MAX_NODES;
  const render = (node, depth) => {
    if (!node || typeof node !== "object" || depth > MAX_DEPTH || (budget -= 1) < 0) return null;
    const kids = () => (Array.isArray(node.content) ? node.content.map((c) => render(c, depth + 1)) : []);
    switch (node.type) {
      case "text": return typeof node.text === "string" ? markedText(node) : null;
      case "paragraph": return h("p", {}, kids());
      case "heading": return h(`h${Math.min(6, Math.max(3, Number(node.attrs?.level) + 2 || 3))}`, {}, kids());
      case "bulletList": return h("ul", {}, kids());
      case "orderedList": {
        const start = Number(node.attrs?.start);
        return h("ol", { start: Number.isInteger(start) && start > 1 && start < 1e9 ? start : undefined }, kids());
      }
      case "listItem": return h("li", {}, kids());
      case "blockquote": return h("blockquote", {}, kids());
      case "codeBlock": return h("pre", {}, h("code", {}, textOf(node)));
      case "hardBreak": return h("br");
      case "subtext": return h("p", { class: "subtext muted small" }, kids());
      case "mention": {
        const label = node.attrs?.id === "everyone" ? "everyone" : String(node.attrs?.label ?? node.attrs?.id ?? "");
        const me = node.attrs?.mentionType !== "role" && (node.attrs?.id === meId || node.attrs?.id === "everyone");
        return h("span", { class: me ? "mention me" : "mention", dataset: typeof node.attrs?.id === "string" ? { userId: node.attrs.id } : undefined }, `@${label}`);
      }
      case "channelMention": return h("span", { class: "mention" }, `#${String(node.attrs?.label ?? "")}`);
      case "customEmoji": {
        const src = node.attrs?.src;
        const name = `:${String(node.attrs?.name ?? "emoji")}:`;
        return typeof src === "string" && src.startsWith("/api/v1/") ? h("img", { class: "emoji", src, alt: name, title: name }) : name;
      }
      default: return textOf(node) || null;
    }
  };
  const nodes = doc.content.map((c) => render(c, 1));
  return budget < 0 ? null : nodes;
}

export { compose, toMarkdown } from "./markdown.js";
