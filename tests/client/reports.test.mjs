// What a reporter may share of a message (the server's limits: 8192 characters of text, 50
// names of 255), how a decision reads to them, and which decisions are told after a time away.

import assert from "node:assert/strict";
import { test } from "node:test";

import { newlyResolved, outcomeText, resolvedNotice, shareable } from "../../static/client/reports.js";

test("nothing to share: no text and no files", () => {
  assert.equal(shareable(null), null);
  assert.equal(shareable({ text: "  " }), null);
  assert.equal(shareable({ text: 5 }, [null, ""]), null);
});

test("the text and the names, as they are when within the limits", () => {
  assert.deepEqual(shareable({ text: "buy now" }, ["a.png"]), { content: "buy now", attachment_names: ["a.png"], cut: false });
  assert.deepEqual(shareable({ text: "" }, ["a.png"]), { content: null, attachment_names: ["a.png"], cut: false });
  assert.deepEqual(shareable({ text: "hi" }), { content: "hi", attachment_names: null, cut: false });
});

test("cut to the server's limits in characters, never half an emoji", () => {
  const long = shareable({ text: "🙂".repeat(9000) }, ["x".repeat(300), ...Array(60).fill("f")]);
  assert.equal(Array.from(long.content).length, 8192);
  assert.equal(long.content, "🙂".repeat(8192));
  assert.equal(long.cut, true);
  assert.equal(long.attachment_names.length, 50);
  assert.equal(long.attachment_names[0].length, 255);
});

test("each outcome reads as what was done", () => {
  const read = (status, outcome) => outcomeText({ status, outcome });
  assert.equal(read("pending", null), "waiting for review");
  assert.equal(read("resolved", "author_banned"), "its author was banned from that server");
  assert.equal(read("resolved", "author_suspended"), "its author's account was suspended");
  assert.equal(read("resolved", "message_deleted"), "the message was deleted");
  assert.equal(read("resolved", "author_timed_out"), "its author was timed out in that server");
  assert.equal(read("dismissed", "dismissed"), "it was dismissed: no action was needed");
  assert.equal(read("resolved", "resolved"), "it was marked resolved");
  assert.equal(read("dismissed", "something new"), "it was dismissed: no action was needed");
  assert.equal(resolvedNotice({ status: "resolved", outcome: "author_banned" }, "#general in Daily"),
    "The instance's admins reviewed your report of a message in #general in Daily: its author was banned from that server.");
});

test("decisions made while away are told once, oldest first; a new browser tells none", () => {
  const at = (s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const reports = [
    { id: "c", status: "pending", resolved_at: null },
    { id: "b", status: "resolved", resolved_at: at(30) },
    { id: "a", status: "dismissed", resolved_at: at(10) },
  ];
  const away = newlyResolved(reports, Date.parse(at(5)));
  assert.deepEqual(away.fresh.map((r) => r.id), ["a", "b"]);
  assert.equal(away.seenAt, Date.parse(at(30)));
  assert.deepEqual(newlyResolved(reports, away.seenAt).fresh, []);
  const fresh = newlyResolved(reports, null, Date.parse(at(20)));
  assert.deepEqual(fresh, { fresh: [], seenAt: Date.parse(at(30)) });
});
