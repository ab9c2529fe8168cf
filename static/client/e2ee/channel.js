// End-to-end encryption of channel messages (this client's own scheme; see docs/client.md).
//
// Sending: make sure every current reader of the channel holds this user's sender key (rotating
// the key whenever the set of readers changed), then encrypt with the next key of the chain.
// Receiving: find the chain by distribution id (fetching and opening newly sealed sender keys when
// needed), decrypt, and check the Ed25519 signature of the author over the inner message.

import { api } from "../api.js";
import { fromB64, fromUtf8, randomBytes, toB64, utf8, uuidToBytes, concat } from "../util.js";
import { checkTrust, deviceKeys } from "./keystore.js";
import { ed25519Sign, ed25519Verify } from "./primitives.js";
import { open, seal } from "./seal.js";
import { SenderKeyStore, decryptBody, encryptBody, parseBody } from "./senderkey.js";

const MESSAGE_SIG = "haven-msg-sig-v1\n";
const SKDM_SIG = "haven-skdm-sig-v1\n";
const READERS_TTL_MS = 30_000;

const skdmAad = (channelId, senderId, recipientId) =>
  concat(utf8("haven-skdm-v1"), uuidToBytes(channelId), uuidToBytes(senderId), uuidToBytes(recipientId));

const sameSet = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export class ChannelCrypto {
  constructor(me) {
    this.me = me;
    this.keys = null;
    this.store = new SenderKeyStore(me);
    this.readersCache = new Map(); // channel -> {at, readers}
    this.identities = new Map(); // user -> Uint8Array identity key (verified source)
    this.bundles = new Map(); // user -> Promise<prekey bundle>: each fetch burns a one-time prekey
    this.fetching = new Map(); // channel -> Promise: one sender-key fetch at a time
    this.results = new Map(); // message id + body -> decrypt result
    this.warnings = new Set(); // users whose identity key changed during this session
  }

  async ready() {
    this.keys ??= await deviceKeys(this.me);
    return this.keys;
  }

  async readers(channelId, fresh = false) {
    const cached = this.readersCache.get(channelId);
    if (!fresh && cached && Date.now() - cached.at < READERS_TTL_MS) return cached.readers;
    const readers = await api("GET", `/channels/${channelId}/members/keys`);
    for (const reader of readers) this.learnIdentity(reader.user_id, reader.identity_key);
    this.readersCache.set(channelId, { at: Date.now(), readers });
    return readers;
  }

  learnIdentity(userId, identityKeyB64) {
    if (checkTrust(this.me, userId, identityKeyB64) === "changed") this.warnings.add(userId);
    this.identities.set(userId, fromB64(identityKeyB64));
  }

  async identityOf(userId) {
    if (userId === this.me) return (await this.ready()).identityPublic;
    if (!this.identities.has(userId)) {
      const bundle = await this.bundle(userId);
      this.learnIdentity(userId, bundle.identity_key);
    }
    return this.identities.get(userId);
  }

  bundle(userId) {
    if (!this.bundles.has(userId)) {
      const promise = api("GET", `/users/${userId}/keys`);
      this.bundles.set(userId, promise);
      promise.catch(() => this.bundles.delete(userId));
    }
    return this.bundles.get(userId);
  }

  /** Forget cached readers (membership changed: a system message or a server update). */
  invalidate(channelId) {
    if (channelId) this.readersCache.delete(channelId);
    else this.readersCache.clear();
  }

  // ---- sending ------------------------------------------------------------------------------

  async encrypt(channelId, content) {
    const keys = await this.ready();
    const readers = await this.readers(channelId, true);
    const ids = readers.map((r) => r.user_id).sort();
    let record = this.store.own(channelId);
    if (!record || !sameSet(record.recipients, ids)) {
      // Anyone who left must not read on; anyone new gets a chain that starts now.
      record = this.store.rotate(channelId, this.me);
      await this.distribute(channelId, record, readers);
      this.store.setRecipients(channelId, ids);
    }
    const inner = JSON.stringify({
      v: 1,
      sender_id: this.me,
      channel_id: channelId,
      distribution_id: record.distributionId,
      sent_at: Date.now(),
      ...content,
    });
    const signature = await ed25519Sign(keys.identityPrivate, utf8(MESSAGE_SIG + inner));
    const plaintext = utf8(JSON.stringify({ m: inner, s: toB64(signature) }));
    const messageKey = await this.store.nextOwnKey(channelId);
    const body = await encryptBody(channelId, messageKey, plaintext);
    // The sealed-sender token is random: it tells the server (and readers) nothing.
    return { sender_token: toB64(randomBytes(16)), encrypted_body: toB64(body) };
  }

  async distribute(channelId, record, readers) {
    const keys = await this.ready();
    const distributions = [];
    for (const reader of readers) {
      const bundle = await this.bundle(reader.user_id);
      const identity = fromB64(bundle.identity_key);
      const prekey = fromB64(bundle.signed_prekey);
      // The directory must agree with itself, and the prekey must be signed by that identity.
      if (bundle.identity_key !== reader.identity_key) continue;
      if (!(await ed25519Verify(identity, fromB64(bundle.signed_prekey_sig), prekey))) continue;
      const inner = JSON.stringify({
        v: 1,
        channel_id: channelId,
        sender_id: this.me,
        recipient_id: reader.user_id,
        distribution_id: record.distributionId,
        chain_key: record.chainKey,
        iteration: record.iteration,
      });
      const signature = await ed25519Sign(keys.identityPrivate, utf8(SKDM_SIG + inner));
      const sealed = await seal(
        prekey,
        utf8(JSON.stringify({ skdm: inner, s: toB64(signature) })),
        skdmAad(channelId, this.me, reader.user_id),
      );
      distributions.push({
        to_user_id: reader.user_id,
        distribution_id: record.distributionId,
        encrypted_skdm: toB64(sealed),
      });
    }
    if (distributions.length) {
      await api("POST", `/channels/${channelId}/sender-keys`, { distributions });
    }
  }

  // ---- receiving ----------------------------------------------------------------------------

  /** Opens sender keys sealed to this device in `channelId` that it has not opened yet. */
  fetchKeys(channelId) {
    if (!this.fetching.has(channelId)) {
      const task = this.openNewKeys(channelId).finally(() => {
        setTimeout(() => this.fetching.delete(channelId), 1500); // at most one fetch per 1.5 s
      });
      this.fetching.set(channelId, task);
    }
    return this.fetching.get(channelId);
  }

  async openNewKeys(channelId) {
    const keys = await this.ready();
    const rows = await api("GET", `/channels/${channelId}/sender-keys`);
    for (const row of rows) {
      if (this.store.isOpened(row.id, row.created_at)) continue;
      try {
        const box = await open(
          keys.prekeyPrivate,
          keys.prekeyPublic,
          fromB64(row.encrypted_skdm),
          skdmAad(channelId, row.from_user_id, this.me),
        );
        const outer = JSON.parse(fromUtf8(box));
        const skdm = JSON.parse(outer.skdm);
        const valid =
          skdm.v === 1 &&
          skdm.channel_id === channelId &&
          skdm.sender_id === row.from_user_id &&
          skdm.recipient_id === this.me &&
          skdm.distribution_id === row.distribution_id &&
          (await ed25519Verify(await this.identityOf(skdm.sender_id), fromB64(outer.s), utf8(SKDM_SIG + outer.skdm)));
        if (valid) {
          this.store.remember(skdm.distribution_id, {
            channelId,
            senderId: skdm.sender_id,
            iteration: skdm.iteration,
            chainKey: skdm.chain_key,
            identityKey: toB64(await this.identityOf(skdm.sender_id)),
          });
        }
      } catch {
        /* sealed to an older key of ours, or tampered with: skip it */
      }
      this.store.markOpened(row.id, row.created_at);
    }
  }

  /**
   * Decrypts a user message. Result: {status: "ok", senderId, content, sentAt, verified} |
   * {status: "missing"} (no key yet: the sender's key has not reached this device) |
   * {status: "invalid", reason}.
   */
  async decrypt(message) {
    const cacheKey = `${message.id}:${message.encrypted_body}`;
    const cached = this.results.get(cacheKey);
    if (cached && cached.status !== "missing") return cached;
    const result = await this.decryptUncached(message);
    this.results.set(cacheKey, result);
    return result;
  }

  async decryptUncached(message) {
    await this.ready();
    let bytes;
    try {
      bytes = fromB64(message.encrypted_body);
    } catch {
      return { status: "invalid", reason: "not base64" };
    }
    const parsed = parseBody(bytes);
    if (!parsed) return { status: "invalid", reason: "unknown format" };
    let key = await this.store.keyFor(parsed.distributionId, parsed.iteration);
    if (!key) {
      await this.fetchKeys(message.channel_id).catch(() => {});
      key = await this.store.keyFor(parsed.distributionId, parsed.iteration);
    }
    if (!key) return { status: "missing" };
    try {
      const plaintext = await decryptBody(message.channel_id, parsed, key);
      const outer = JSON.parse(fromUtf8(plaintext));
      const inner = JSON.parse(outer.m);
      const chain = this.store.received(parsed.distributionId);
      if (
        inner.channel_id !== message.channel_id ||
        inner.distribution_id !== parsed.distributionId ||
        inner.sender_id !== chain.senderId
      ) {
        return { status: "invalid", reason: "message does not match its key" };
      }
      const identity = chain.identityKey ? fromB64(chain.identityKey) : await this.identityOf(inner.sender_id);
      const verified = await ed25519Verify(identity, fromB64(outer.s), utf8(MESSAGE_SIG + outer.m));
      if (!verified) return { status: "invalid", reason: "bad signature" };
      return { status: "ok", senderId: inner.sender_id, content: inner, sentAt: inner.sent_at, verified };
    } catch {
      return { status: "invalid", reason: "cannot decrypt" };
    }
  }
}
