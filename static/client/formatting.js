// Rich text in the payload's `formatting` (e2ee.md 6.3): a TipTap/ProseMirror document.
//
// Rendering is safe by construction: a whitelist of node and mark types becomes DOM through h()
// (text nodes only, never markup); links must be http(s); images only from this instance's
// /api/v1/ routes (custom emojis); anything unknown renders its text content. When a document
// cannot be rendered the caller shows the payload's plain `text`.
//
// Sending: the composer is plain text with a small Markdown subset (**bold**, *italic*,
// ~~strike~~, `code`, ``` fenced code ```, "> " quotes). A message that uses none of it is sent
// without `formatting`, as the original does for plain paragraphs.

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
export function renderDoc(doc) {
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
      case "orderedList": return h("ol", {}, kids());
      case "listItem": return h("li", {}, kids());
      case "blockquote": return h("blockquote", {}, kids());
      case "codeBlock": return h("pre", {}, h("code", {}, textOf(node)));
      case "hardBreak": return h("br");
      case "subtext": return h("p", { class: "subtext muted small" }, kids());
      case "mention": {
        const label = node.attrs?.id === "everyone" ? "everyone" : String(node.attrs?.label ?? node.attrs?.id ?? "");
        return h("span", { class: "mention" }, `@${label}`);
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

// ---- composing -----------------------------------------------------------------------------------

const INLINE = /(\*\*[^*\n]+\*\*|~~[^~\n]+~~|`[^`\n]+`|\*[^*\s][^*\n]*\*|https?:\/\/[^\s<>"'`]+)/g;

function inline(text) {
  const out = [];
  let last = 0;
  let marked = false;
  for (const match of text.matchAll(INLINE)) {
    const token = match[0];
    if (match.index > last) out.push({ type: "text", text: text.slice(last, match.index) });
    let node;
    if (token.startsWith("**")) node = { type: "text", text: token.slice(2, -2), marks: [{ type: "bold" }] };
    else if (token.startsWith("~~")) node = { type: "text", text: token.slice(2, -2), marks: [{ type: "strike" }] };
    else if (token.startsWith("`")) node = { type: "text", text: token.slice(1, -1), marks: [{ type: "code" }] };
    else if (token.startsWith("*")) node = { type: "text", text: token.slice(1, -1), marks: [{ type: "italic" }] };
    else node = { type: "text", text: token, marks: [{ type: "link", attrs: { href: token } }] };
    marked = marked || !token.startsWith("http");
    out.push(node);
    last = match.index + token.length;
  }
  if (last < text.length) out.push({ type: "text", text: text.slice(last) });
  return { nodes: out, marked };
}

function paragraph(lines) {
  const content = [];
  let marked = false;
  lines.forEach((line, i) => {
    if (i) content.push({ type: "hardBreak" });
    const parsed = inline(line);
    marked = marked || parsed.marked;
    content.push(...parsed.nodes);
  });
  return { node: content.length ? { type: "paragraph", content } : { type: "paragraph" }, marked };
}

/**
 * {text, formatting} for composed text: `text` is the plain rendering (Markdown markers removed)
 * and `formatting` a TipTap document, or null when the message is plain.
 */
export function compose(source) {
  const blocks = [];
  let rich = false;
  const plain = [];
  const lines = source.split("\n");
  for (let i = 0; i < lines.length;) {
    if (lines[i].startsWith("```")) {
      const code = [];
      i += 1;
      while (i < lines.length && !lines[i].startsWith("```")) code.push(lines[i++]);
      i += 1;
      blocks.push({ type: "codeBlock", content: code.length ? [{ type: "text", text: code.join("\n") }] : [] });
      plain.push(code.join("\n"));
      rich = true;
      continue;
    }
    const group = [];
    const quote = lines[i].startsWith("> ");
    while (i < lines.length && !lines[i].startsWith("```") && lines[i] !== "" && lines[i].startsWith("> ") === quote) {
      group.push(quote ? lines[i].slice(2) : lines[i]);
      i += 1;
    }
    if (!group.length) {
      i += 1;
      continue;
    }
    const { node, marked } = paragraph(group);
    rich = rich || marked || quote;
    blocks.push(quote ? { type: "blockquote", content: [node] } : node);
    plain.push(group.map((line) => line.replace(/\*\*([^*\n]+)\*\*|~~([^~\n]+)~~|`([^`\n]+)`|\*([^*\s][^*\n]*)\*/g, "$1$2$3$4")).join("\n"));
  }
  if (!rich) return { text: source, formatting: null };
  return { text: plain.join("\n\n"), formatting: { type: "doc", content: blocks } };
}
