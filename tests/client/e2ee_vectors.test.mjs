// Every known-answer vector of e2ee-vectors.json (a copy of ../shared/spec/e2ee-vectors.json),
// in the directions e2ee-vectors.md gives, against the browser client's own modules
// (static/client/e2ee/*, util.js). Run with `node --test tests/client/` (part of `make test`).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import * as backup from "../../static/client/e2ee/backup.js";
import { b64, concat, fromUtf8, hex, unb64, utf8, uuidText } from "../../static/client/e2ee/bytes.js";
import * as dm from "../../static/client/e2ee/dm.js";
import * as envelope from "../../static/client/e2ee/envelope.js";
import * as files from "../../static/client/e2ee/files.js";
import * as payload from "../../static/client/e2ee/payload.js";
import * as primitives from "../../static/client/e2ee/primitives.js";
import * as profile from "../../static/client/e2ee/profile.js";
import * as ratchet from "../../static/client/e2ee/ratchet.js";
import * as restore from "../../static/client/e2ee/backup-json.js";
import { safetyNumber } from "../../static/client/e2ee/safety.js";
import * as senderKeys from "../../static/client/e2ee/senderkeys.js";
import * as x3dh from "../../static/client/e2ee/x3dh.js";
import { decodeJsonB64, decodeMeta, encodeMeta } from "../../static/client/util.js";

const file = JSON.parse(readFileSync(new URL("./e2ee-vectors.json", import.meta.url), "utf8"));
const vectors = new Map(file.vectors.map((v) => [v.id, v]));
const vector = (id) => vectors.get(id);
const seen = new Set();

/** A test per vector id; the last test checks that every vector of the file was used. */
function check(id, fn) {
  seen.add(id);
  test(id, () => fn(vector(id)));
}

/** Randomness that replays what the original consumed, in order, and checks it is all used. */
function replay(entries) {
  const values = entries.filter((e) => e.source === "randombytes_buf").map((e) => unb64(e.value));
  const pairs = entries
    .filter((e) => e.source === "crypto_box_keypair")
    .map((e) => ({ publicKey: unb64(e.public_key), privateKey: unb64(e.private_key) }));
  return {
    bytes(n) {
      const value = values.shift();
      assert.ok(value, "more random bytes asked for than the original consumed");
      assert.equal(value.length, n);
      return value;
    },
    keypair() {
      const pair = pairs.shift();
      assert.ok(pair, "more key pairs asked for than the original consumed");
      return pair;
    },
    done() {
      assert.equal(values.length + pairs.length, 0, "the original consumed more randomness");
    },
  };
}

const noRandom = replay([]);
const identityOf = (seed) => primitives.identityKeypair(unb64(seed));
const pairOf = (p) => ({ publicKey: unb64(p.public_key), privateKey: unb64(p.private_key) });

/** Sessions compare as their backup form, skipped keys as a set. */
function normal(serialized) {
  if (!serialized) return serialized;
  const copy = structuredClone(serialized);
  copy.state.skippedKeys = copy.state.skippedKeys
    .map(({ dhPub, n, mk }) => ({ dhPub, n, mk }))
    .sort((a, b) => `${a.dhPub}${a.n}`.localeCompare(`${b.dhPub}${b.n}`));
  return copy;
}

const sameSession = (session, expected) => assert.deepEqual(normal(ratchet.serialize(session)), normal(expected));

// ---- KDFs and keys ------------------------------------------------------------------------------

check("kdf.hkdf_x3dh_info", ({ inputs, expected }) => {
  const okm = primitives.hkdf(unb64(inputs.salt), unb64(inputs.ikm), inputs.info_utf8, inputs.length);
  assert.equal(b64(okm), expected.okm);
});

check("kdf.kdf_rk", ({ inputs, expected }) => {
  const out = primitives.kdfRk(unb64(inputs.root_key), unb64(inputs.dh_output));
  assert.equal(b64(out.rootKey), expected.new_root_key);
  assert.equal(b64(out.chainKey), expected.chain_key);
  assert.equal(b64(concat(out.rootKey, out.chainKey)), expected.hkdf_output_64);
});

check("kdf.kdf_ck", ({ inputs, expected }) => {
  let chainKey = unb64(inputs.chain_key_0);
  for (const step of expected.steps) {
    assert.equal(b64(chainKey), step.chain_key);
    const out = primitives.kdfCk(chainKey);
    assert.equal(b64(out.messageKey), step.message_key);
    assert.equal(b64(out.chainKey), step.next_chain_key);
    chainKey = out.chainKey;
  }
});

check("keys.ed25519_to_x25519", ({ expected }) => {
  for (const party of expected.identities) {
    const identity = identityOf(party.ed25519_seed);
    assert.equal(b64(identity.publicKey), party.ed25519_public_key);
    assert.equal(b64(identity.privateKey), party.ed25519_secret_key_64);
    assert.equal(b64(primitives.edPublicToX(identity.publicKey)), party.x25519_public_key);
    assert.equal(b64(primitives.edSecretToX(identity.privateKey)), party.x25519_secret_key);
  }
});

check("keys.registration_and_bundle", ({ inputs, expected }) => {
  const identity = identityOf(inputs.identity_ed25519_seed);
  const signedPrekey = pairOf(inputs.signed_prekey);
  const signature = primitives.sign(signedPrekey.publicKey, identity.privateKey);
  assert.equal(b64(signature), expected.signed_prekey_signature);
  assert.deepEqual(
    {
      identity_key: b64(identity.publicKey),
      signed_prekey: b64(signedPrekey.publicKey),
      signed_prekey_signature: b64(signature),
      one_time_prekeys: inputs.one_time_prekeys.map((k) => k.public_key),
    },
    expected.register_request_key_fields,
  );
  const bundle = expected.key_bundle_response;
  assert.equal(bundle.signed_prekey_sig, b64(signature)); // the response's field name
  assert.ok(primitives.verify(unb64(bundle.signed_prekey_sig), unb64(bundle.signed_prekey), unb64(bundle.identity_key)));
  assert.equal(bundle.one_time_prekey, inputs.one_time_prekeys[0].public_key);
});

// ---- X3DH -------------------------------------------------------------------------------------------

for (const id of ["x3dh.with_one_time_prekey", "x3dh.without_one_time_prekey"]) {
  check(id, ({ inputs, expected }) => {
    const initiator = identityOf(inputs.initiator_identity_ed25519_seed);
    const ephemeral = pairOf(inputs.initiator_ephemeral);
    const rng = { keypair: () => ephemeral, bytes: noRandom.bytes };
    const sent = x3dh.initiate(initiator, inputs.key_bundle_response, rng);
    const responder = identityOf(inputs.responder_identity_ed25519_seed);
    const opk = inputs.responder_one_time_prekey ? pairOf(inputs.responder_one_time_prekey) : null;
    const got = x3dh.respond(responder, pairOf(inputs.responder_signed_prekey), opk, initiator.publicKey, ephemeral.publicKey);
    for (const side of [sent, got]) {
      assert.equal(b64(side.dh1), expected.dh1);
      assert.equal(b64(side.dh2), expected.dh2);
      assert.equal(b64(side.dh3), expected.dh3);
      assert.equal(side.dh4 ? b64(side.dh4) : null, expected.dh4);
      assert.equal(b64(side.ikm), expected.hkdf_ikm);
      assert.equal(b64(side.sharedKey), expected.shared_key);
      assert.equal(b64(side.ad), expected.associated_data);
    }
    const forged = { ...inputs.key_bundle_response, signed_prekey_sig: b64(new Uint8Array(64)) };
    assert.throws(() => x3dh.initiate(initiator, forged, rng), /signature/);
  });
}

// ---- Double Ratchet ------------------------------------------------------------------------------

check("dm.conversation", ({ inputs, expected }) => {
  const parties = inputs.parties;
  const keysOf = (name) => {
    const party = parties[name];
    return {
      identity: identityOf(party.identity_ed25519_seed),
      signedPrekey: pairOf(party.signed_prekey),
      oneTimePrekey: (publicKey) => {
        const found = party.one_time_prekeys.find((k) => k.public_key === b64(publicKey));
        return found ? pairOf(found) : null;
      },
    };
  };
  for (const step of expected.steps) {
    const body = unb64(step.encrypted_body);
    // Decrypt direction.
    const receiverRng = replay(step.random_consumed_by_receiver);
    const parsed = envelope.parse(body);
    assert.equal(parsed.type, step.envelope_type, step.step);
    let received;
    if (parsed.type === envelope.INITIAL) {
      assert.equal(step.receiver_state_before, null);
      received = dm.acceptInitial(keysOf(step.to), parsed, receiverRng);
      assert.equal(b64(received.agreed.sharedKey), step.x3dh_shared_key);
    } else {
      received = ratchet.decrypt(ratchet.deserialize(step.receiver_state_before), parsed.message, receiverRng);
    }
    receiverRng.done();
    assert.equal(fromUtf8(received.plaintext), step.plaintext_json, step.step);
    sameSession(received.session, step.receiver_state_after);
    assert.equal(body.length - parsed.message.length, step.dr_offset, step.step);
    assert.equal(b64(received.header.dh), step.dr_header.dh_public_key);
    assert.equal(received.header.pn, step.dr_header.pn);
    assert.equal(received.header.n, step.dr_header.n);
    const shows = payload.decode(received.plaintext).payload;
    assert.equal(shows.sender_id, step.receiver_shows.senderId);
    assert.equal(shows.text, step.receiver_shows.text);

    // Encrypt direction: the same bytes and the same sender state.
    const senderRng = replay(step.random_consumed_by_sender);
    assert.equal(b64(senderRng.bytes(32)), step.sender_token);
    let session;
    let pending = null;
    if (step.envelope_type === envelope.INITIAL) {
      assert.equal(step.sender_state_before, null);
      const started = dm.startSession(keysOf(step.from).identity, step.key_bundle_served_to_sender, senderRng);
      ({ session, pending } = started);
      assert.equal(b64(started.agreed.sharedKey), step.x3dh_shared_key);
      assert.equal(b64(session.state.rootKey), step.initial_root_key_after_kdf_rk);
      assert.equal(b64(session.state.chainKeySend), step.initial_sending_chain_key);
    } else {
      session = ratchet.deserialize(step.sender_state_before);
    }
    const sent = dm.encrypt(session, pending, utf8(step.plaintext_json), senderRng);
    senderRng.done();
    assert.equal(b64(sent.body), step.encrypted_body, step.step);
    assert.equal(b64(sent.messageKey), step.message_key);
    sameSession(sent.session, step.sender_state_after);
  }
  // A forged message changes nothing (stricter than the original: state moves only on success).
  const m2 = expected.steps.find((s) => s.step === "m2");
  const before = ratchet.deserialize(m2.receiver_state_before);
  const tampered = unb64(m2.encrypted_body);
  tampered[tampered.length - 1] ^= 1;
  assert.throws(() => ratchet.decrypt(before, envelope.parse(tampered).message, noRandom));
  sameSession(before, m2.receiver_state_before);
});

// ---- Sender keys ---------------------------------------------------------------------------------

check("group.skdm_payload", ({ inputs, expected }) => {
  const key = { distributionId: unb64(inputs.distribution_id), chainIndex: inputs.chain_index, chainKey: unb64(inputs.chain_key) };
  assert.equal(b64(senderKeys.skdmPayload(key)), expected.skdm_payload);
  const parsed = senderKeys.parseSkdm(unb64(expected.skdm_payload));
  assert.deepEqual([b64(parsed.distributionId), parsed.chainIndex, b64(parsed.chainKey)], [inputs.distribution_id, inputs.chain_index, inputs.chain_key]);
});

check("group.skdm_distribution", ({ inputs, expected }) => {
  for (const recipient of inputs.recipients) {
    const opened = senderKeys.openSkdm(unb64(recipient.encrypted_skdm), identityOf(recipient.recipient_identity_ed25519_seed));
    assert.equal(b64(opened.payload), expected.skdm_payload);
    assert.equal(b64(opened.distributionId), expected.distribution_id_bytes);
    assert.equal(uuidText(opened.distributionId), expected.distribution_id_uuid_string);
    assert.equal(opened.chainIndex, expected.chain_index);
    assert.equal(b64(opened.chainKey), expected.chain_key);
    assert.equal(opened.signed, false);
  }
  const entries = inputs.post_body.distributions;
  assert.deepEqual(entries.map((e) => e.to_user_id), inputs.recipients.map((r) => r.to_user_id));
  for (const entry of entries) {
    assert.deepEqual(Object.keys(entry), ["to_user_id", "distribution_id", "encrypted_skdm"]);
    assert.equal(entry.distribution_id, expected.distribution_id_uuid_string);
    assert.equal(unb64(entry.encrypted_skdm).length, 100);
  }
  // Our own sealing opens with the recipient's key to the same payload (decrypt-only vector).
  const bob = inputs.recipients[0];
  const key = { distributionId: unb64(expected.distribution_id_bytes), chainIndex: 0, chainKey: unb64(expected.chain_key) };
  const bobIdentity = identityOf(bob.recipient_identity_ed25519_seed);
  const ours = senderKeys.sealSkdm(key, bobIdentity.publicKey);
  assert.equal(ours.length, 100);
  assert.equal(b64(senderKeys.openSkdm(ours, bobIdentity).payload), expected.skdm_payload);
});

check("group.sender_key_messages", ({ inputs, expected }) => {
  const stateOf = (k) => ({ distributionId: unb64(k.distributionId), chainKey: unb64(k.chainKey), chainIndex: k.chainIndex });
  const shown = (k) => ({ distributionId: b64(k.distributionId), chainKey: b64(k.chainKey), chainIndex: k.chainIndex });
  let received = stateOf(inputs.initial_received_key);
  assert.equal(`${inputs.channel_id}:${hex(received.distributionId)}`, inputs.receiver_cache_key);
  for (const m of expected.messages) {
    const parsed = envelope.parse(unb64(m.encrypted_body));
    assert.equal(parsed.chainIndex, m.chain_index);
    const out = senderKeys.decrypt(received, parsed);
    assert.equal(fromUtf8(out.plaintext), m.plaintext_json);
    assert.deepEqual(shown(out.received), m.receiver_state_after);
    received = out.received;
    // Encrypt direction.
    const key = { distributionId: received.distributionId, chainKey: unb64(m.sender_chain_key_at_index), chainIndex: m.chain_index };
    const sent = senderKeys.encrypt(key, utf8(m.plaintext_json), replay([{ source: "randombytes_buf", value: m.aead_nonce }]));
    assert.equal(b64(sent.body), m.encrypted_body);
    assert.equal(b64(sent.messageKey), m.message_key);
  }
  // Index 2 was skipped over: gone from the live chain (no start kept here), so it is refused.
  assert.throws(() => senderKeys.decrypt(received, { ...envelope.parse(unb64(expected.messages[1].encrypted_body)), chainIndex: 2 }), /consumed/);
});

check("group.second_sender_and_restore", ({ inputs, expected }) => {
  const alice = identityOf(inputs.recipient_identity_ed25519_seed);
  const opened = senderKeys.openSkdm(unb64(inputs.skdm_entry_for_alice.encrypted_skdm), alice);
  assert.equal(b64(opened.distributionId), expected.distribution_id);
  assert.equal(uuidText(opened.distributionId), inputs.skdm_entry_for_alice.distribution_id);
  let received = { distributionId: opened.distributionId, chainKey: opened.chainKey, chainIndex: opened.chainIndex };
  for (const [i, m] of inputs.messages.entries()) {
    const out = senderKeys.decrypt(received, envelope.parse(unb64(m.encrypted_body)));
    assert.equal(fromUtf8(out.plaintext), expected.plaintexts[i]);
    assert.equal(payload.decode(out.plaintext).payload.sender_id, inputs.from_user_id);
    received = out.received;
  }
  // From Alice's backup (index 1): b1 decrypts again, b0 is refused (already consumed).
  const plain = JSON.parse(fromUtf8(unb64(vector("backup.key_backup").inputs.plaintext_utf8_b64)));
  const entry = plain.receivedSenderKeys[expected.backup_received_key_name];
  assert.equal(entry.fromUserId, inputs.from_user_id);
  const restored = restore.receivedFromBackup(entry);
  const b1 = senderKeys.decrypt(restored, envelope.parse(unb64(inputs.messages[1].encrypted_body)));
  assert.equal(fromUtf8(b1.plaintext), expected.plaintexts[1]);
  assert.throws(() => senderKeys.decrypt(restored, envelope.parse(unb64(inputs.messages[0].encrypted_body))), /consumed/);
});

// ---- Backup --------------------------------------------------------------------------------------

check("backup.recovery_key_format", ({ inputs, expected }) => {
  const key = backup.recoveryKey(replay([{ source: "randombytes_buf", value: inputs.random_bytes }]));
  assert.equal(key, expected.recovery_key);
  assert.match(key, /^([A-Z2-7]{4}-){7}[A-Z2-7]{4}$/);
});

check("backup.key_backup", ({ inputs, expected }) => {
  assert.equal(b64(backup.deriveKey(inputs.phrase, unb64(inputs.salt))), expected.argon2id_key);
  const body = expected.put_request_body;
  const text = backup.open(body, `  ${inputs.phrase}\n`); // trimmed on restore, as the original
  assert.equal(b64(utf8(text)), inputs.plaintext_utf8_b64);
  assert.throws(() => backup.open(body, "WRONG-PHRASE"), /Wrong security phrase/);
  const resealed = backup.seal(text, inputs.phrase, replay(inputs.random_consumed));
  assert.deepEqual(resealed, body);
  assert.deepEqual(Object.keys(resealed), ["encrypted_data", "nonce", "salt", "version"]);
  const parsed = JSON.parse(text);
  assert.deepEqual(parsed, expected.plaintext_json);

  // Restored by this client: the same JSON back out (field names, encodings, key order).
  const state = restore.parseBackup(text);
  assert.equal(b64(state.identity.publicKey), parsed.identity.publicKey);
  assert.equal(restore.backupJson(state, parsed.timestamp), text);

  // The restored DM session decrypts step m7 of dm.conversation.
  const m7 = vector("dm.conversation").expected.steps.find((s) => s.step === "m7");
  const bob = "b0b00000-0000-4000-8000-00000000000b";
  sameSession(state.sessions[bob], m7.receiver_state_before);
  assert.equal(state.channelPeers[m7.channel_id], bob);
  const out = ratchet.decrypt(state.sessions[bob], envelope.parse(unb64(m7.encrypted_body)).message, replay(m7.random_consumed_by_receiver));
  assert.equal(fromUtf8(out.plaintext), m7.plaintext_json);
});

// ---- Files, profiles, safety numbers, plain encodings -----------------------------------------------

for (const id of ["file.notes.txt", "file.pixel.png"]) {
  check(id, ({ inputs, expected }) => {
    const plaintext = unb64(inputs.plaintext);
    const sealed = files.encryptFile(plaintext, replay(inputs.random_consumed));
    assert.equal(b64(sealed.blob), expected.ciphertext);
    assert.equal(sealed.blob.length, expected.ciphertext_length);
    assert.deepEqual(files.decryptFile(unb64(expected.ciphertext), sealed.key, sealed.nonce), plaintext);
    const meta = expected.attachment_meta;
    const built = files.attachmentMeta({
      id: meta.id, filename: meta.filename, mimeType: meta.mime_type, size: plaintext.length, key: sealed.key, nonce: sealed.nonce,
      thumbnail: meta.thumbnail, width: meta.width, height: meta.height, spoiler: meta.spoiler,
    });
    assert.equal(JSON.stringify(built), JSON.stringify(meta));
    const read = files.readAttachmentMeta(meta);
    assert.equal(read.size, plaintext.length);
    assert.deepEqual(files.decryptFile(unb64(expected.ciphertext), read.key, read.nonce), plaintext);
    const altered = unb64(expected.ciphertext);
    altered[20] ^= 1;
    assert.throws(() => files.decryptFile(altered, read.key, read.nonce));
  });
}

check("profile.encrypted_profile", ({ inputs, expected }) => {
  const rng = replay(inputs.random_consumed);
  const key = rng.bytes(32);
  assert.equal(b64(key), inputs.profile_key);
  const blob = profile.encryptProfile(utf8(inputs.fields_json), key, rng);
  assert.equal(b64(blob), expected.encrypted_profile);
  assert.equal(fromUtf8(profile.decryptProfile(unb64(expected.encrypted_profile), key)), inputs.fields_json);
});

check("profile.profile_key_for_recipient", ({ inputs, expected }) => {
  const bob = identityOf(inputs.recipient_identity_ed25519_seed);
  assert.equal(b64(profile.openProfileKey(unb64(inputs.encrypted_profile_key), bob)), expected.profile_key);
  assert.equal(b64(profile.openProfileKey(profile.sealProfileKey(unb64(expected.profile_key), bob.publicKey), bob)), expected.profile_key);
});

check("safety_number.alice_bob", ({ inputs, expected }) => {
  const a = unb64(inputs.identity_key_a);
  const b = unb64(inputs.identity_key_b);
  for (const number of [safetyNumber(a, b), safetyNumber(b, a)]) {
    assert.equal(b64(number.hash), expected.sha256);
    assert.equal(number.digits, expected.digits);
    assert.deepEqual(number.groups, expected.groups);
  }
});

check("encoding.encrypted_meta", ({ inputs, expected }) => {
  for (const [i, item] of inputs.items.entries()) {
    assert.equal(encodeMeta(JSON.parse(item.json)), expected.items[i].encrypted_meta);
    assert.deepEqual(decodeJsonB64(expected.items[i].encrypted_meta), JSON.parse(item.json));
  }
  assert.equal(decodeMeta(b64(utf8("welcome"))).name, "welcome");
});

check("encoding.plaintext_0x00", ({ inputs, expected }) => {
  const body = envelope.plaintext(utf8(inputs.plaintext_json));
  assert.equal(b64(body), expected.encrypted_body);
  const parsed = envelope.parse(unb64(expected.encrypted_body));
  assert.equal(parsed.type, envelope.PLAINTEXT);
  const decoded = payload.decode(parsed.payload).payload;
  assert.equal(decoded.sender_id, expected.receiver_shows.senderId);
  assert.equal(decoded.text, expected.receiver_shows.text);
});

check("encoding.system_message", ({ inputs, expected }) => {
  assert.equal(encodeMeta(JSON.parse(inputs.json)), expected.encrypted_body);
  assert.deepEqual(decodeJsonB64(expected.encrypted_body), JSON.parse(inputs.json));
});

test("every vector of the file is checked", () => {
  assert.deepEqual([...vectors.keys()].filter((id) => !seen.has(id)), []);
});
