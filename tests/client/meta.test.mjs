// `encrypted_meta` as the client reads and writes it (e2ee.md 8.1): base64 of UTF-8 JSON. A group
// renamed in the client keeps the fields the original routes by; a group without a name reads as
// nameless (its title then comes from its members), never as its JSON text.

import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeJsonB64, decodeMeta, encodeMeta, groupMeta, renamedGroupMeta } from "../../static/client/util.js";

const me = { id: "u1", username: "ada", display_name: "Ada" };
const members = [{ id: "u2", name: "Bea" }, { id: "u3", name: "cyd" }];
const infos = [{ user_id: "u1", username: "ada", display_name: "Ada" }, { user_id: "u2", username: "bea", display_name: null }];

test("a rename changes the name only, keeping type, participants, names and other keys", () => {
  const created = groupMeta(me, "Planning", members);
  const withExtra = encodeMeta({ ...decodeJsonB64(created), icon: "x" });
  const renamed = decodeJsonB64(renamedGroupMeta(withExtra, "Trip", infos));
  assert.deepEqual(renamed, {
    type: "group", name: "Trip", participants: ["u1", "u2", "u3"],
    names: { u1: "Ada", u2: "Bea", u3: "cyd" }, icon: "x",
  });
  assert.deepEqual(Object.keys(renamed).slice(0, 4), ["type", "name", "participants", "names"]); // the original's order
});

test("a blank name is left out, as at creation; a nameless group gets a name", () => {
  const named = groupMeta(me, "Planning", members);
  assert.equal("name" in decodeJsonB64(renamedGroupMeta(named, "", infos)), false);
  const nameless = groupMeta(me, "", members);
  assert.equal(decodeJsonB64(renamedGroupMeta(nameless, "Trip", infos)).name, "Trip");
});

test("a meta that is not a JSON object is rebuilt from the members", () => {
  for (const bad of [encodeMeta("just text"), btoa("group"), "%%%"]) {
    assert.deepEqual(decodeJsonB64(renamedGroupMeta(bad, "Trip", infos)), {
      type: "group", name: "Trip", participants: ["u1", "u2"], names: { u1: "Ada", u2: "bea" },
    });
  }
});

test("reading: a JSON object without a name is nameless; plain text is the name", () => {
  assert.equal(decodeMeta(groupMeta(me, "", members), "").name, "");
  assert.equal(decodeMeta(groupMeta(me, "", members), "Group").name, "Group");
  assert.equal(decodeMeta(groupMeta(me, "Planning", members), "").name, "Planning");
  assert.equal(decodeMeta(btoa("welcome"), "channel").name, "welcome");
  assert.equal(decodeMeta("%%%", "channel").name, "channel");
});
