// The composer's Markdown-style typing becomes the spec's rich text (e2ee.md 6.3: a TipTap
// document in `formatting`, with the plain `text` beside it), and comes back for editing; mentions
// are found in decrypted content; invite links give their code. The browser tests render these.

import assert from "node:assert/strict";
import { test } from "node:test";

import { compose, mentionsMe, toMarkdown } from "../../static/client/markdown.js";
import { inviteCode } from "../../static/client/util.js";

const marks = (node) => (node.marks || []).map((m) => m.type);

test("plain text is sent without formatting, as the original does", () => {
  assert.deepEqual(compose("hello there"), { text: "hello there", formatting: null });
  assert.deepEqual(compose("see https://example.com/x."), { text: "see https://example.com/x.", formatting: null });
  assert.deepEqual(compose("snake_case_name and 2*3*4"), { text: "snake_case_name and 2*3*4", formatting: null });
});

test("inline marks: bold, italic (both spellings), strike, code, spoiler", () => {
  const { text, formatting } = compose("**b** *i* _j_ ~~s~~ `c` ||secret||");
  assert.equal(text, "b i j s c secret");
  const nodes = formatting.content[0].content.filter((n) => n.marks);
  assert.deepEqual(nodes.map((n) => [n.text, marks(n)[0]]), [["b", "bold"], ["i", "italic"], ["j", "italic"], ["s", "strike"], ["c", "code"], ["secret", "spoiler"]]);
});

test("blocks: code, quote, bullet and ordered lists, paragraphs", () => {
  const source = "intro\n\n```\nconst x = 1;\n  y()\n```\n> quoted **line**\n- one\n- two\n3. three\n4. four";
  const { text, formatting } = compose(source);
  assert.deepEqual(formatting.content.map((b) => b.type), ["paragraph", "codeBlock", "blockquote", "bulletList", "orderedList"]);
  assert.equal(formatting.content[1].content[0].text, "const x = 1;\n  y()");
  assert.equal(formatting.content[3].content.length, 2);
  assert.equal(formatting.content[3].content[0].type, "listItem");
  assert.equal(formatting.content[4].attrs.start, 3);
  assert.equal(text, "intro\n\nconst x = 1;\n  y()\n\nquoted line\n\n- one\n- two\n\n3. three\n4. four");
});

test("@mentions of known people become mention nodes; unknown names stay text", () => {
  const people = new Map([["alice", { id: "a1", label: "alice" }], ["everyone", { id: "everyone", label: "everyone" }]]);
  const { text, formatting } = compose("hi @Alice and @nobody, @everyone", people);
  const mentions = formatting.content[0].content.filter((n) => n.type === "mention");
  assert.deepEqual(mentions.map((n) => n.attrs), [{ id: "a1", label: "alice" }, { id: "everyone", label: "everyone" }]);
  assert.equal(text, "hi @alice and @nobody, @everyone");
  assert.equal(compose("mail me at bob@alice.example", people).formatting, null);
});

test("a formatted message comes back as Markdown for editing", () => {
  const people = new Map([["alice", { id: "a1", label: "alice" }]]);
  const source = "**bold** and *it* @alice\n\n> quote\n\n- a\n- b\n\n```\ncode\n```";
  assert.equal(toMarkdown(compose(source, people).formatting), source);
  assert.equal(toMarkdown({ type: "nope" }), null);
});

test("mentions are found in rich text (by id) and in plain text (by username)", () => {
  const me = { id: "me-id", username: "carol" };
  const doc = (attrs) => ({ content_type: "tiptap", text: "x", formatting: { type: "doc", content: [{ type: "paragraph", content: [{ type: "mention", attrs }] }] } });
  assert.equal(mentionsMe(doc({ id: "me-id", label: "carol" }), me), true);
  assert.equal(mentionsMe(doc({ id: "everyone", label: "everyone" }), me), true);
  assert.equal(mentionsMe(doc({ id: "me-id", mentionType: "role" }), me), false);
  assert.equal(mentionsMe(doc({ id: "other", label: "dave" }), me), false);
  assert.equal(mentionsMe({ text: "hey @Carol!" }, me), true);
  assert.equal(mentionsMe({ text: "hey @carolina" }, me), false);
  assert.equal(mentionsMe({ text: "x@carol.example" }, me), false);
});

test("invite links and bare codes give the code", () => {
  assert.equal(inviteCode("  Ab12Cd34 "), "Ab12Cd34");
  assert.equal(inviteCode("https://haven.example/invite/Ab12Cd34"), "Ab12Cd34");
  assert.equal(inviteCode("http://127.0.0.1:8000/invite/Ab12Cd34/?ref=x"), "Ab12Cd34");
});
