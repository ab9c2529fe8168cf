// Where the client is stricter than the original (e2ee.md 4.3, 5.6, 13), at the module level:
// limits, state that moves only after authentication, signed distributions and payloads, and the
// backup's extra key. The browser tests show the same checks through the interface.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { backupJson, parseBackup, receivedName } from "../../static/client/e2ee/backup-json.js";
import { b64, fromUtf8, hex, unb64, utf8 } from "../../static/client/e2ee/bytes.js";
import * as dm from "../../static/client/e2ee/dm.js";
import * as envelope from "../../static/client/e2ee/envelope.js";
import * as payloads from "../../static/client/e2ee/payload.js";
import { identityKeypair, sign } from "../../static/client/e2ee/primitives.js";
import * as ratchet from "../../static/client/e2ee/ratchet.js";
import * as senderKeys from "../../static/client/e2ee/senderkeys.js";
import { systemRandom as rng } from "../../static/client/e2ee/sodium.js";

const vectors = JSON.parse(readFileSync(new URL("./e2ee-vectors.json", import.meta.url), "utf8"));
const backupText = fromUtf8(unb64(vectors.vectors.find((v) => v.id === "backup.key_backup").inputs.plaintext_utf8_b64));
const CHANNEL = "c0000000-0000-4000-8000-000000000001";
const BOB_ID = "b0b00000-0000-4000-8000-00000000000b";

/** A fresh Alice -> Bob session: Bob has accepted Alice's first message. */
function pair() {
  const alice = identityKeypair();
  const bob = identityKeypair();
  const spk = rng.keypair();
  const bundle = {
    identity_key: b64(bob.publicKey), signed_prekey: b64(spk.publicKey),
    signed_prekey_sig: b64(sign(spk.publicKey, bob.privateKey)), one_time_prekey: null,
  };
  const started = dm.startSession(alice, bundle, rng);
  const first = dm.encrypt(started.session, started.pending, utf8("hi"), rng);
  const keys = { identity: bob, signedPrekey: spk, oneTimePrekey: () => null };
  const accepted = dm.acceptInitial(keys, envelope.parse(first.body), rng);
  return { alice: first.session, bob: accepted.session };
}

const serialized = (session) => JSON.stringify(ratchet.serialize(session, true));

test("a gap of 256 skipped messages passes, 257 fails and changes nothing", () => {
  const { alice, bob } = pair();
  let sender = alice;
  const sent = [];
  for (let i = 0; i < 258; i += 1) {
    const out = ratchet.encrypt(sender, utf8(`m${i + 1}`), rng);
    sender = out.session;
    sent.push(out.message);
  }
  // Bob expects n = 1; n = 257 skips 256 keys, n = 258 would skip 257.
  const before = serialized(bob);
  assert.throws(() => ratchet.decrypt(bob, sent[257], rng), /Too many skipped messages/);
  assert.equal(serialized(bob), before);
  const ok = ratchet.decrypt(bob, sent[256], rng);
  assert.equal(fromUtf8(ok.plaintext), "m257");
  assert.equal(ok.session.state.skippedKeys.length, 256);
  // A skipped key opens its message once; a replay of it then fails.
  const late = ratchet.decrypt(ok.session, sent[0], rng);
  assert.equal(fromUtf8(late.plaintext), "m1");
  assert.equal(late.session.state.skippedKeys.length, 255);
  assert.throws(() => ratchet.decrypt(late.session, sent[0], rng));
});

test("stored skipped keys are capped per session and expire", () => {
  const { alice, bob } = pair();
  const filler = Array.from({ length: ratchet.MAX_STORED_SKIPPED }, (_, n) => ({ dhPub: rng.bytes(32), n, mk: rng.bytes(32), at: Date.now() }));
  const full = { ad: bob.ad, state: { ...bob.state, skippedKeys: filler } };
  let sender = alice;
  const messages = [];
  for (let i = 0; i < 4; i += 1) {
    const out = ratchet.encrypt(sender, utf8(`x${i}`), rng);
    sender = out.session;
    messages.push(out.message);
  }
  const out = ratchet.decrypt(full, messages[3], rng); // skips n = 1, 2
  assert.equal(out.session.state.skippedKeys.length, ratchet.MAX_STORED_SKIPPED);
  assert.ok(out.session.state.skippedKeys.some((k) => k.n === 1), "the newest are kept");
  assert.equal(fromUtf8(ratchet.decrypt(out.session, messages[1], rng).plaintext), "x1"); // n = 2, stored
  // Thirty days later the stored keys are gone: a skipped message can no longer be read.
  const later = Date.now() + ratchet.SKIPPED_MAX_AGE_MS + 1000;
  assert.throws(() => ratchet.decrypt(out.session, messages[2], rng, later));
  const next = ratchet.encrypt(sender, utf8("x4"), rng);
  const after = ratchet.decrypt(out.session, next.message, rng, later);
  assert.equal(fromUtf8(after.plaintext), "x4");
  assert.equal(after.session.state.skippedKeys.length, 0, "every expired key is pruned");
});

test("a forged group message does not move the chain; history is read from the chain's start", () => {
  const key = senderKeys.generate(rng);
  let own = key;
  const bodies = [];
  for (let i = 0; i < 6; i += 1) {
    const out = senderKeys.encrypt(own, utf8(`g${i}`), rng);
    own = out.key;
    bodies.push(envelope.parse(out.body));
  }
  const received = { ...key, start: { chainKey: key.chainKey, chainIndex: 0 } };
  const forged = { ...bodies[5], ciphertext: bodies[5].ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) };
  assert.throws(() => senderKeys.decrypt(received, forged));
  assert.equal(received.chainIndex, 0);
  const five = senderKeys.decrypt(received, bodies[5]);
  assert.equal(five.received.chainIndex, 6);
  const two = senderKeys.decrypt(five.received, bodies[2]);
  assert.equal(fromUtf8(two.plaintext), "g2");
  assert.equal(two.fromHistory, true);
  assert.equal(two.received.chainIndex, 6, "reading history never resets the live position");
  const noStart = { ...five.received, start: undefined };
  assert.throws(() => senderKeys.decrypt(noStart, bodies[2]), /consumed/);
  const far = { ...bodies[0], chainIndex: 6 + senderKeys.MAX_SKIP + 1 };
  assert.throws(() => senderKeys.decrypt(five.received, far), /Too many skipped/);
});

test("our signed distribution verifies only for its distributor, channel and recipient", () => {
  const alice = identityKeypair();
  const bob = identityKeypair();
  const mallory = identityKeypair();
  const key = senderKeys.generate(rng);
  const box = senderKeys.sealSkdm(key, bob.publicKey, { channelId: CHANNEL, recipientId: BOB_ID, identity: alice });
  const opened = senderKeys.openSkdm(box, bob, { channelId: CHANNEL, recipientId: BOB_ID, fromIdentityKey: alice.publicKey });
  assert.equal(opened.signed, true);
  assert.deepEqual(opened.payload, senderKeys.skdmPayload(key)); // the original reads these 52 bytes
  assert.throws(() => senderKeys.openSkdm(box, bob, { channelId: CHANNEL, recipientId: BOB_ID, fromIdentityKey: mallory.publicKey }), /signature/);
  const otherChannel = "c0000000-0000-4000-8000-000000000002";
  assert.throws(() => senderKeys.openSkdm(box, bob, { channelId: otherChannel, recipientId: BOB_ID, fromIdentityKey: alice.publicKey }), /signature/);
  assert.throws(() => senderKeys.openSkdm(box, mallory, { channelId: CHANNEL, recipientId: BOB_ID, fromIdentityKey: alice.publicKey }));
  // An original client's distribution (no extension) opens, unsigned.
  assert.equal(senderKeys.openSkdm(senderKeys.sealSkdm(key, bob.publicKey), bob).signed, false);
});

test("the payload signature covers sender, channel, chain position, time and content", () => {
  const alice = identityKeypair();
  const senderId = "a11ce000-0000-4000-8000-00000000000a";
  const ref = payloads.groupRef("00".repeat(16), 7);
  const payload = payloads.build({ senderId, text: "ship it", linkPreviews: [{ url: "https://example.org/" }] });
  const bytes = payloads.encode(payload, { identity: alice, channelId: CHANNEL, ref, time: 1234 });
  const { payload: read, sig } = payloads.decode(bytes);
  assert.equal(read.text, "ship it");
  assert.deepEqual(Object.keys(JSON.parse(fromUtf8(bytes))), ["sender_id", "text", "link_previews", "sig"]);
  const context = { identityKey: alice.publicKey, channelId: CHANNEL, ref, senderId };
  assert.equal(payloads.verifySignature(sig, context), true);
  assert.equal(payloads.verifySignature(sig, { ...context, ref: payloads.groupRef("00".repeat(16), 8) }), false);
  assert.equal(payloads.verifySignature(sig, { ...context, channelId: BOB_ID }), false);
  assert.equal(payloads.verifySignature(sig, { ...context, senderId: BOB_ID }), false);
  assert.equal(payloads.verifySignature(sig, { ...context, identityKey: identityKeypair().publicKey }), false);
  const altered = JSON.parse(fromUtf8(bytes));
  altered.text = "ship it now";
  assert.equal(payloads.verifySignature(payloads.decode(utf8(JSON.stringify(altered))).sig, context), false);
  altered.text = "ship it";
  altered.sig.t = 1235;
  assert.equal(payloads.verifySignature(payloads.decode(utf8(JSON.stringify(altered))).sig, context), false);
  assert.equal(payloads.decode(utf8(JSON.stringify(payload))).sig, null); // an original client's
});

test("the backup keeps where received chains started under its extra key, and stays the original's shape", () => {
  const state = parseBackup(backupText);
  const name = Object.keys(state.receivedSenderKeys)[0];
  const entry = state.receivedSenderKeys[name];
  const start = { chainKey: rng.bytes(32), chainIndex: 0 };
  state.receivedSenderKeys[name] = { ...entry, start, signed: true };
  const text = backupJson(state, "2025-01-01T12:00:00.000Z");
  const json = JSON.parse(text);
  assert.deepEqual(Object.keys(json).slice(0, 9), Object.keys(JSON.parse(backupText)));
  assert.deepEqual(json.receivedSenderKeys, JSON.parse(backupText).receivedSenderKeys);
  const again = parseBackup(text).receivedSenderKeys[name];
  assert.deepEqual(again.start.chainKey, start.chainKey);
  assert.equal(again.signed, true);
  assert.equal(name, receivedName(CHANNEL, entry.distributionId));
  assert.equal(hex(entry.distributionId).length, 32);
});
