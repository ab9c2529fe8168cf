// Markdown-style typing -> the spec's rich text (e2ee.md 6.3, a TipTap document), and back for
// editing. Pure functions (no DOM), tested under Node (tests/client/markdown.test.mjs).
//
// Blocks: paragraphs (a blank line between), ``` fenced code ```, "> " quotes, "- " / "* " bullet
// lists, "1. " ordered lists. Inline: **bold**, *italic* or _italic_, ~~strike~~, `code`,
// ||spoiler||, http(s) links, and @username for the people given (mention nodes). A message
// using none of it is sent without `formatting`, as the original does for plain paragraphs.

const INLINE = /(\*\*[^*\n]+\*\*|~~[^~\n]+~~|\|\|[^|\n]+\|\||`[^`\n]+`|(?<![\w*])\*[^*\s](?:[^*\n]*[^*\s])?\*(?![\w*])|(?<!\w)_[^_\s](?:[^_\n]*[^_\s])?_(?!\w)|https?:\/\/[^\s<>"'`]+|(?<![\w@])@[\w-]{1,32})/g;
const MARKS = [["**", "bold"], ["~~", "strike"], ["||", "spoiler"], ["`", "code"], ["*", "italic"], ["_", "italic"]];
const BULLET = /^[-*] +(.*)$/;
const ORDERED = /^(\d{1,9})[.)] +(.*)$/;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** Inline nodes of one line; `plain` is the line without markers; `marked` says whether anything was. */
function inline(line, people) {
  const nodes = [];
  let plain = "";
  let marked = false;
  let last = 0;
  const text = (t) => {
    if (!t) return;
    nodes.push({ type: "text", text: t });
    plain += t;
  };
  for (const match of line.matchAll(INLINE)) {
    let token = match[0];
    if (token.startsWith("@")) {
      const person = people?.get(token.slice(1).toLowerCase());
      if (!person) continue; // not someone here: stays text
      text(line.slice(last, match.index));
      nodes.push({ type: "mention", attrs: { id: person.id, label: person.label } });
      plain += `@${person.label}`;
      marked = true;
    } else if (/^https?:/i.test(token)) {
      token = token.replace(TRAILING, "");
      text(line.slice(last, match.index));
      nodes.push({ type: "text", text: token, marks: [{ type: "link", attrs: { href: token } }] });
      plain += token;
    } else {
      const [marker, type] = MARKS.find(([m]) => token.startsWith(m) && token.endsWith(m));
      text(line.slice(last, match.index));
      const inner = token.slice(marker.length, -marker.length);
      nodes.push({ type: "text", text: inner, marks: [{ type }] });
      plain += inner;
      marked = true;
    }
    last = match.index + token.length;
  }
  text(line.slice(last));
  return { nodes, plain, marked };
}

function paragraph(lines, people) {
  const content = [];
  const plain = [];
  let marked = false;
  lines.forEach((line, i) => {
    if (i) content.push({ type: "hardBreak" });
    const parsed = inline(line, people);
    marked = marked || parsed.marked;
    content.push(...parsed.nodes);
    plain.push(parsed.plain);
  });
  return { node: content.length ? { type: "paragraph", content } : { type: "paragraph" }, plain: plain.join("\n"), marked };
}

const kindOf = (line) => (line.startsWith("```") ? "code" : line.startsWith("> ") || line === ">" ? "quote"
  : BULLET.test(line) ? "bullet" : ORDERED.test(line) ? "ordered" : line.trim() === "" ? "blank" : "text");

/**
 * {text, formatting} for composed text: `text` is the plain rendering (markers removed) and
 * `formatting` a TipTap document, or null when the message is plain. `people`: Map of lower-case
 * username -> {id, label} whose @mentions become mention nodes.
 */
export function compose(source, people = null) {
  const blocks = [];
  const plain = [];
  let rich = false;
  const lines = source.split("\n");
  for (let i = 0; i < lines.length;) {
    const kind = kindOf(lines[i]);
    if (kind === "blank") {
      i += 1;
      continue;
    }
    if (kind === "code") {
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
    while (i < lines.length && kindOf(lines[i]) === kind) group.push(lines[i++]);
    if (kind === "bullet" || kind === "ordered") {
      const pattern = kind === "bullet" ? BULLET : ORDERED;
      const items = group.map((line) => paragraph([pattern.exec(line).at(-1)], people));
      const list = { type: kind === "bullet" ? "bulletList" : "orderedList", content: items.map((p) => ({ type: "listItem", content: [p.node] })) };
      if (kind === "ordered") list.attrs = { start: Number(ORDERED.exec(group[0])[1]) };
      blocks.push(list);
      plain.push(items.map((p, n) => (kind === "bullet" ? `- ${p.plain}` : `${list.attrs.start + n}. ${p.plain}`)).join("\n"));
      rich = true;
    } else if (kind === "quote") {
      const p = paragraph(group.map((line) => line.slice(2)), people);
      blocks.push({ type: "blockquote", content: [p.node] });
      plain.push(p.plain);
      rich = true;
    } else {
      const p = paragraph(group, people);
      blocks.push(p.node);
      plain.push(p.plain);
      rich = rich || p.marked;
    }
  }
  if (!rich) return { text: source, formatting: null };
  return { text: plain.join("\n\n"), formatting: { type: "doc", content: blocks } };
}

// ---- back to Markdown (editing a formatted message) ---------------------------------------------

const MARKERS = { bold: "**", italic: "*", strike: "~~", code: "`", spoiler: "||" };

function inlineMarkdown(nodes = []) {
  return nodes.map((node) => {
    if (node?.type === "hardBreak") return "\n";
    if (node?.type === "mention") return `@${node.attrs?.label ?? node.attrs?.id ?? ""}`;
    if (typeof node?.text !== "string") return inlineMarkdown(node?.content);
    let out = node.text;
    for (const mark of node.marks || []) if (MARKERS[mark?.type]) out = `${MARKERS[mark.type]}${out}${MARKERS[mark.type]}`;
    return out;
  }).join("");
}

/** The Markdown a document came from (near enough to edit it), or null when it is not a document. */
export function toMarkdown(doc) {
  if (doc?.type !== "doc" || !Array.isArray(doc.content)) return null;
  return doc.content.map((block) => {
    const items = Array.isArray(block?.content) ? block.content : [];
    switch (block?.type) {
      case "codeBlock": return `\`\`\`\n${inlineMarkdown(items)}\n\`\`\``;
      case "blockquote": return items.map((p) => inlineMarkdown(p.content).split("\n").map((l) => `> ${l}`).join("\n")).join("\n");
      case "bulletList": return items.map((li) => `- ${inlineMarkdown(li.content?.[0]?.content)}`).join("\n");
      case "orderedList": return items.map((li, n) => `${(block.attrs?.start ?? 1) + n}. ${inlineMarkdown(li.content?.[0]?.content)}`).join("\n");
      default: return inlineMarkdown(items);
    }
  }).join("\n\n");
}

// ---- mentions (found after decryption: the server cannot read messages) ---------------------------

const escapeRe = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Does decrypted content mention this user (by id in the rich text, or @username in the text)? */
export function mentionsMe(content, me) {
  let found = false;
  const walk = (node, depth) => {
    if (found || !node || typeof node !== "object" || depth > 12) return;
    if (node.type === "mention" && node.attrs?.mentionType !== "role" && (node.attrs?.id === me.id || node.attrs?.id === "everyone")) found = true;
    if (Array.isArray(node.content)) node.content.forEach((c) => walk(c, depth + 1));
  };
  if (content?.content_type === "tiptap") walk(content.formatting, 0);
  if (found) return true;
  const text = typeof content?.text === "string" ? content.text : "";
  return new RegExp(`(^|[^\\w@])@(${escapeRe(me.username)}|everyone)(?![\\w-])`, "i").test(text);
}
