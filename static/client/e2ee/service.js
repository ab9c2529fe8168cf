// The client's end-to-end encryption service (docs/client.md, "End-to-end encryption"): Haven's
// protocol (e2ee.md) over the REST routes, with this browser's state in keystore.js.
//
// Routing as the original: a `dm` channel whose meta is {"type":"dm","participants":[...]} uses
// the Double Ratchet with the other participant; every other channel uses sender keys. Stricter
// than the original where it costs no compatibility (e2ee.md 13):
// * the author shown is the user the server says distributed the sender key (or whose directory
//   identity key opened the DM session), never the payload's `sender_id`; a mismatch is "forged";
// * our messages carry a signature (payload.js) and our distributions promise it (senderkeys.js);
// * chain and ratchet state move only after a message authenticates; each message is processed
//   once, in order, from one queue; a chain position seen under another message id is a replay;
// * 0x00 (unencrypted) messages are refused;
// * own sender keys are replaced when a reader leaves, and on a schedule (messages or days).

import { api } from "../api.js";
import { decodeJsonB64 } from "../util.js";
import * as backup from "./backup.js";
import { b64, equal, hex, unb64, utf8, uuidText } from "./bytes.js";
import * as dm from "./dm.js";
import * as envelope from "./envelope.js";
import { MessageCache, Trust, emptyState, forget, loadState, saveState } from "./keystore.js";
import * as payloads from "./payload.js";
import { identityKeypair, secretbox, sha256, sign } from "./primitives.js";
import * as ratchet from "./ratchet.js";
import { safetyNumber } from "./safety.js";
import * as senderKeys from "./senderkeys.js";
import { backupJson, parseBackup, receivedName } from "./backup-json.js";
import { systemRandom as rng } from "./sodium.js";

export const MAX_BODY = 8192; // WS SendMessage limit on the decoded body
const PREKEYS = 20;
const BACKUP_DELAY_MS = 5000;
const IDENTITY_CHECK_MS = 120_000;
const ROTATION_KEY = "haven.rotation";
export const ROTATION_DEFAULTS = { messages: 500, days: 7 };

/** The re-keying schedule of own sender keys (Settings → Encryption). */
export function rotationPolicy() {
  try {
    const stored = JSON.parse(localStorage.getItem(ROTATION_KEY));
    const messages = Number.isSafeInteger(stored?.messages) && stored.messages >= 1 ? stored.messages : ROTATION_DEFAULTS.messages;
    const days = Number.isFinite(stored?.days) && stored.days > 0 ? stored.days : ROTATION_DEFAULTS.days;
    return { messages, days };
  } catch {
    return { ...ROTATION_DEFAULTS };
  }
}

export function setRotationPolicy(policy) {
  localStorage.setItem(ROTATION_KEY, JSON.stringify(policy));
}

function newPrekeys(count) {
  return Array.from({ length: count }, () => rng.keypair());
}

/** New identity, signed prekey and one-time prekeys: {state, request} (the register fields). */
export function generateKeys() {
  const identity = identityKeypair();
  const spk = rng.keypair();
  const signedPrekey = { ...spk, signature: sign(spk.publicKey, identity.privateKey) };
  const oneTimePrekeys = newPrekeys(PREKEYS);
  return {
    state: emptyState(identity, signedPrekey, oneTimePrekeys),
    request: {
      identity_key: b64(identity.publicKey),
      signed_prekey: b64(signedPrekey.publicKey),
      signed_prekey_signature: b64(signedPrekey.signature),
      one_time_prekeys: oneTimePrekeys.map((k) => b64(k.publicKey)),
    },
  };
}

/** Stores freshly registered keys for the new account (its id is known only after register). */
export function installRegistrationKeys(userId, state) {
  saveState(userId, state);
}

/** The peer of a DM channel routed to the Double Ratchet (e2ee.md 3.5, 8.1), else null. */
export function dmPeer(channel, me) {
  if (channel?.channel_type !== "dm") return null;
  try {
    const meta = decodeJsonB64(channel.encrypted_meta);
    if (meta?.type !== "dm" || !Array.isArray(meta.participants) || !meta.participants.includes(me)) return null;
    return meta.participants.find((p) => p !== me) || null;
  } catch {
    return null;
  }
}

export class E2ee extends EventTarget {
  constructor(me) {
    super();
    this.me = me.id;
    this.user = me;
    this.state = null;
    this.status = "missing"; // "ready" | "missing" (no keys here) | "replaced" (new keys elsewhere)
    this.trust = new Trust(this.me);
    this.cache = new MessageCache(this.me);
    this.queue = Promise.resolve();
    this.sent = new Map(); // encrypted_body -> {result, ref} of what this browser sent
    this.identities = new Map(); // user id -> identity key (b64) from the directory
    this.readersCache = new Map(); // channel id -> Promise<[{user_id, identity_key}]>
    this.fetching = new Map(); // channel id -> Promise (one sender-key fetch at a time)
    this.opened = new Set(); // distribution rows handled this page load ("id:created_at")
    this.channels = new Map(); // channel id -> channel (for routing)
    this.backupTimer = null;
    this.lastIdentityCheck = 0;
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  save() {
    saveState(this.me, this.state);
  }

  // ---- keys of this browser ---------------------------------------------------------------------

  /** Loads this browser's keys and checks them against the directory. Returns the status. */
  async load() {
    this.state = loadState(this.me);
    if (!this.state) return this.setStatus("missing");
    await this.checkIdentity(true);
    if (this.status === "ready") {
      this.replenishPrekeys().catch(() => {});
      if (this.state.backupDirty) this.scheduleBackup();
    }
    return this.status;
  }

  setStatus(status) {
    if (this.status !== status) {
      this.status = status;
      this.emit("status", { status });
    }
    return status;
  }

  /** Is the identity key the directory publishes for us still ours? (Another browser may have replaced it.) */
  async checkIdentity(force = false) {
    if (!this.state || (!force && Date.now() - this.lastIdentityCheck < IDENTITY_CHECK_MS)) return this.status;
    this.lastIdentityCheck = Date.now();
    const bundle = await api("GET", `/users/${this.me}/keys`);
    if (bundle.one_time_prekey) this.dropPrekey(unb64(bundle.one_time_prekey)); // that fetch used it up
    return this.setStatus(bundle.identity_key === b64(this.state.identity.publicKey) ? "ready" : "replaced");
  }

  dropPrekey(publicKey) {
    const before = this.state.oneTimePrekeys.length;
    this.state.oneTimePrekeys = this.state.oneTimePrekeys.filter((k) => !equal(k.publicKey, publicKey));
    if (this.state.oneTimePrekeys.length !== before) this.save();
  }

  /** Keeps at least 20 unused one-time prekeys on the server whose private halves we hold. */
  async replenishPrekeys() {
    const { count } = await api("GET", "/keys/prekeys/count");
    if (count >= PREKEYS) return;
    const fresh = newPrekeys(PREKEYS - count);
    this.state.oneTimePrekeys.push(...fresh);
    this.save();
    await api("POST", "/keys/prekeys", { prekeys: fresh.map((k) => b64(k.publicKey)) });
  }

  async backupStatus() {
    return api("GET", "/keys/backup/status");
  }

  /**
   * New keys for this browser (explicit choice: what was sent to the old keys becomes unreadable
   * here, and the account's other browsers stop reading new messages).
   */
  async createKeys() {
    const fresh = generateKeys();
    await api("PUT", "/keys/identity", {
      identity_key: fresh.request.identity_key,
      signed_prekey: fresh.request.signed_prekey,
      signed_prekey_signature: fresh.request.signed_prekey_signature,
    });
    await api("DELETE", "/keys/prekeys");
    await api("POST", "/keys/prekeys", { prekeys: fresh.request.one_time_prekeys });
    this.state = fresh.state;
    this.opened.clear();
    this.save();
    this.setStatus("ready");
  }

  /**
   * Restores the keys from the server's backup with the security phrase (e2ee.md 9.5): the
   * identity and what the backup holds, a new signed prekey, 20 new one-time prekeys. This
   * browser then sends with new sender keys and restarts each DM session on its next send, so
   * it never reuses a chain position another browser of the account has used.
   */
  async restore(phrase) {
    const stored = await api("GET", "/keys/backup");
    const key = backup.deriveKey(phrase.trim(), unb64(stored.salt, 16));
    const restored = parseBackup(backup.openWithKey(stored, key));
    const spk = rng.keypair();
    const signedPrekey = { ...spk, signature: sign(spk.publicKey, restored.identity.privateKey) };
    const oneTimePrekeys = newPrekeys(PREKEYS);
    await api("PUT", "/keys/identity", {
      identity_key: b64(restored.identity.publicKey),
      signed_prekey: b64(signedPrekey.publicKey),
      signed_prekey_signature: b64(signedPrekey.signature),
    });
    await api("POST", "/keys/prekeys", { prekeys: oneTimePrekeys.map((k) => b64(k.publicKey)) });
    this.state = {
      ...emptyState(restored.identity, signedPrekey, oneTimePrekeys),
      sessions: restored.sessions,
      receivedSenderKeys: restored.receivedSenderKeys,
      channelPeers: restored.channelPeers,
      renew: Object.fromEntries(Object.keys(restored.sessions).map((peer) => [peer, true])),
      // The backup's sessions are as of its upload: a 0x01 older than that is history.
      lastSeen: Object.fromEntries(Object.keys(restored.channelPeers).map((channel) => [channel, stored.updated_at])),
      backupKey: { key, salt: unb64(stored.salt, 16) },
    };
    this.opened.clear();
    this.save();
    this.setStatus("ready");
  }

  get hasBackupKey() {
    return Boolean(this.state?.backupKey);
  }

  /** Sets (or changes) the security phrase and uploads a backup at once. */
  async setupBackup(phrase) {
    if (phrase.length < backup.MIN_PHRASE) throw new Error(`The phrase needs at least ${backup.MIN_PHRASE} characters.`);
    const salt = rng.bytes(16);
    this.state.backupKey = { key: backup.deriveKey(phrase, salt), salt };
    this.save();
    await this.uploadBackup();
  }

  /** Uploads the current key state, sealed with the phrase's key (a new nonce every time). */
  async uploadBackup() {
    if (!this.state?.backupKey || this.status !== "ready") return;
    const { key, salt } = this.state.backupKey;
    const nonce = rng.bytes(24);
    const json = backupJson(this.state);
    this.state.backupDirty = false;
    await api("PUT", "/keys/backup", { encrypted_data: b64(secretbox(utf8(json), nonce, key)), nonce: b64(nonce), salt: b64(salt), version: 1 });
    this.save();
    this.emit("backup", {});
  }

  /** Key material changed: re-upload the backup 5 s after the last change (as the original). */
  scheduleBackup() {
    if (!this.state?.backupKey) return;
    this.state.backupDirty = true;
    clearTimeout(this.backupTimer);
    this.backupTimer = setTimeout(() => this.uploadBackup().catch(() => {}), BACKUP_DELAY_MS);
  }

  /** Signing out: optionally removes every key and decrypted message this browser holds. */
  async stop({ removeKeys = false } = {}) {
    clearTimeout(this.backupTimer);
    if (this.state?.backupDirty && !removeKeys) await this.uploadBackup().catch(() => {});
    if (removeKeys) await forget(this.me);
  }

  // ---- other people's keys ------------------------------------------------------------------------

  learn(userId, identityKeyB64) {
    this.identities.set(userId, identityKeyB64);
    if (userId === this.me) return;
    if (this.trust.see(userId, identityKeyB64) === "changed") this.emit("keychange", { userId });
  }

  /** Everyone else who can read a channel, with identity keys (cached briefly per channel). */
  readers(channelId, fresh = false) {
    if (fresh || !this.readersCache.has(channelId)) {
      const promise = api("GET", `/channels/${channelId}/members/keys`).then((list) => {
        for (const reader of list) this.learn(reader.user_id, reader.identity_key);
        return list;
      });
      this.readersCache.set(channelId, promise);
      promise.catch(() => this.readersCache.delete(channelId));
      setTimeout(() => this.readersCache.get(channelId) === promise && this.readersCache.delete(channelId), 30_000);
    }
    return this.readersCache.get(channelId);
  }

  /** Membership changed somewhere: forget cached reader lists (the next send re-checks anyway). */
  invalidate(channelId) {
    if (channelId) this.readersCache.delete(channelId);
    else this.readersCache.clear();
  }

  async identityOf(userId, channelId) {
    if (userId === this.me) return this.state.identity.publicKey;
    if (!this.identities.has(userId) && channelId) await this.readers(channelId).catch(() => []);
    if (!this.identities.has(userId)) {
      const bundle = await api("GET", `/users/${userId}/keys`); // uses up one of their one-time prekeys
      this.learn(userId, bundle.identity_key);
    }
    return unb64(this.identities.get(userId), 32);
  }

  /** Safety number with a user (e2ee.md 10), from the directory's key for them. */
  async safetyNumber(userId) {
    const theirs = await this.identityOf(userId);
    return safetyNumber(this.state.identity.publicKey, theirs);
  }

  /** People in a conversation whose key changed after they were verified (flagged before a send). */
  async verifiedLostIn(channelId) {
    const peer = this.peerOf(channelId);
    if (peer) return this.trust.verifiedLost(peer) ? [peer] : [];
    const readers = await this.readers(channelId);
    return readers.map((r) => r.user_id).filter((id) => this.trust.verifiedLost(id));
  }

  // ---- routing ---------------------------------------------------------------------------------------

  remember(channels) {
    for (const channel of channels) this.channels.set(channel.id, channel);
  }

  peerOf(channelId) {
    const channel = this.channels.get(channelId);
    return dmPeer(channel, this.me) || (channel?.channel_type === "dm" ? this.state.channelPeers[channelId] || null : null);
  }

  // ---- sending ----------------------------------------------------------------------------------------

  /**
   * Encrypts content {text, attachments, contentType, formatting, linkPreviews} for a channel.
   * Returns {sender_token, encrypted_body, delivered()}: call delivered() once the server took the
   * message (a pending 0x01 is repeated until then).
   */
  async encrypt(channelId, content) {
    if (this.status !== "ready") throw new Error("This browser's encryption keys are not in use: see the notice above.");
    const token = rng.bytes(32);
    const payload = payloads.build({ senderId: this.me, ...content });
    const peer = this.peerOf(channelId);
    const sealed = peer ? await this.encryptDm(channelId, peer, payload) : await this.encryptGroup(channelId, payload);
    const result = { status: "ok", senderId: this.me, content: payloads.decode(utf8(JSON.stringify(payload))).payload, signed: true, own: true };
    this.sent.set(sealed.body, { result });
    return { sender_token: b64(token), encrypted_body: sealed.body, delivered: sealed.delivered };
  }

  async encryptDm(channelId, peer, payload) {
    let session = this.state.sessions[peer];
    let pending = this.state.pending[peer] || null;
    // A new session after a restore or a takeover, or when the directory now has another
    // identity key for the peer than the one our session was made with (they made new keys).
    const known = this.identities.get(peer);
    const peerKey = session && (equal(session.ad.slice(0, 32), this.state.identity.publicKey) ? session.ad.slice(32) : session.ad.slice(0, 32));
    const renew = this.state.renew?.[peer] || (known && peerKey && b64(peerKey) !== known);
    if (!session || renew) {
      const bundle = await api("GET", `/users/${peer}/keys`);
      this.learn(peer, bundle.identity_key);
      ({ session, pending } = dm.startSession(this.state.identity, bundle, rng));
    }
    const header = ratchet.nextHeader(session);
    const ref = payloads.dmRef(header.dh, header.n);
    const plaintext = payloads.encode(payload, { identity: this.state.identity, channelId, ref, time: Date.now() });
    const out = dm.encrypt(session, pending, plaintext, rng);
    const body = b64(out.body);
    if (out.body.length > MAX_BODY) throw new Error("Message too large: shorten it or send a file.");
    this.state.sessions[peer] = out.session;
    if (pending) this.state.pending[peer] = pending;
    if (this.state.renew) delete this.state.renew[peer];
    this.state.channelPeers[channelId] = peer;
    this.save();
    this.scheduleBackup();
    const delivered = () => {
      if (this.state.pending[peer] === pending && pending) {
        delete this.state.pending[peer];
        this.save();
      }
    };
    return { body, delivered };
  }

  /**
   * Our current sender key for a channel, held by every current reader. A new key when a reader
   * left (they must not read on) or the schedule says so; a reader who is new, or whose identity
   * key changed, gets the current key at its current position.
   */
  async ensureSenderKey(channelId) {
    const readers = await this.readers(channelId, true);
    const ids = new Set(readers.map((r) => r.user_id));
    const holders = (r) => `${r.user_id}:${r.identity_key}`;
    let key = this.state.mySenderKeys[channelId];
    let meta = this.state.senderMeta[channelId];
    const policy = rotationPolicy();
    const stale = !key || !meta ||
      meta.recipients.some((holder) => !ids.has(holder.split(":")[0])) ||
      meta.sent >= policy.messages ||
      Date.now() - meta.createdAt > policy.days * 86_400_000;
    if (stale) {
      key = senderKeys.generate(rng);
      meta = { recipients: [], createdAt: Date.now(), sent: 0 };
      this.state.receivedSenderKeys[receivedName(channelId, key.distributionId)] = {
        ...key, fromUserId: this.me, start: { chainKey: key.chainKey, chainIndex: key.chainIndex }, signed: true,
      };
    }
    const recipients = readers.filter((r) => !meta.recipients.includes(holders(r)));
    if (stale || recipients.length) {
      await this.distribute(channelId, key, recipients, stale);
      meta.recipients = readers.map(holders);
      this.state.mySenderKeys[channelId] = key;
      this.state.senderMeta[channelId] = meta;
      this.state.distributedChannels.add(channelId);
      this.save();
      this.scheduleBackup();
    }
    return key;
  }

  /** Seals the key to each reader (and to ourselves, for this account's other browsers). */
  async distribute(channelId, key, readers, includeSelf) {
    const targets = readers.map((r) => ({ userId: r.user_id, identityKey: unb64(r.identity_key, 32) }));
    if (includeSelf) targets.push({ userId: this.me, identityKey: this.state.identity.publicKey });
    const distributions = targets.map((t) => ({
      to_user_id: t.userId,
      distribution_id: uuidText(key.distributionId),
      encrypted_skdm: b64(senderKeys.sealSkdm(key, t.identityKey, { channelId, recipientId: t.userId, identity: this.state.identity })),
    }));
    if (distributions.length) await api("POST", `/channels/${channelId}/sender-keys`, { distributions });
  }

  async encryptGroup(channelId, payload) {
    const key = await this.ensureSenderKey(channelId);
    const ref = payloads.groupRef(hex(key.distributionId), key.chainIndex);
    const plaintext = payloads.encode(payload, { identity: this.state.identity, channelId, ref, time: Date.now() });
    const out = senderKeys.encrypt(key, plaintext, rng);
    if (out.body.length > MAX_BODY) throw new Error("Message too large: shorten it or send a file.");
    this.state.mySenderKeys[channelId] = out.key;
    this.state.senderMeta[channelId].sent += 1;
    this.save();
    return { body: b64(out.body), delivered: () => {} };
  }

  // ---- receiving ------------------------------------------------------------------------------------

  /**
   * Decrypts a message (MessageResponse). Messages go through one queue, once each, in the order
   * asked (callers ask oldest first). Result statuses: ok, system, missing (no key yet), replay,
   * plaintext (refused 0x00), other-device (sent by or to this account's other browser), invalid.
   */
  decrypt(message) {
    const task = this.queue.then(() => this.decryptNow(message));
    this.queue = task.catch(() => {});
    return task;
  }

  async decryptNow(message) {
    if (message.message_type === "system") return { status: "system" };
    const hash = b64(sha256(utf8(message.encrypted_body)));
    const cached = await this.cache.get("messages", message.id);
    if (cached?.hash === hash && cached.result.status !== "missing") return cached.result;
    let parsed;
    try {
      parsed = envelope.parse(unb64(message.encrypted_body));
    } catch (failure) {
      return { status: "invalid", reason: failure.message };
    }
    // A chain position already seen under another message id is a replay, whoever posted it.
    const ref = this.refOf(message.channel_id, parsed);
    const first = ref && (await this.cache.get("refs", ref));
    if (first && first !== message.id) return { status: "replay", originalId: first };
    const own = this.sent.get(message.encrypted_body);
    const result = own ? own.result : await this.open(message, parsed);
    if (result.status === "ok" || result.status === "plaintext") {
      if (parsed.type === envelope.INITIAL || parsed.type === envelope.FOLLOW_UP) this.noteSeen(message);
      if (ref) await this.cache.put("refs", ref, message.id);
      await this.cache.put("messages", message.id, { hash, result });
    }
    return result;
  }

  /** A DM message was processed: later 0x01s are newer than this (server time, never our clock). */
  noteSeen(message) {
    const seen = this.state.lastSeen[message.channel_id];
    if (!seen || Date.parse(message.timestamp) > Date.parse(seen)) {
      this.state.lastSeen[message.channel_id] = message.timestamp;
      this.save();
    }
  }

  /** Is this message newer than everything processed in its DM channel (so live, not history)? */
  isNewest(message) {
    const seen = this.state.lastSeen[message.channel_id];
    return !seen || Date.parse(message.timestamp) > Date.parse(seen);
  }

  /** The chain position a message claims ("channel|g:dist:i" or "channel|d:dh:n"): the replay key. */
  refOf(channelId, parsed) {
    try {
      if (parsed.type === envelope.GROUP) return `${channelId}|${payloads.groupRef(hex(parsed.distributionId), parsed.chainIndex)}`;
      if (parsed.type === envelope.INITIAL || parsed.type === envelope.FOLLOW_UP) {
        const header = ratchet.parseMessage(parsed.message);
        return `${channelId}|${payloads.dmRef(header.dh, header.n)}`;
      }
    } catch {
      /* too short: it fails to decrypt below */
    }
    return null;
  }

  async open(message, parsed) {
    try {
      switch (parsed.type) {
        case envelope.PLAINTEXT: {
          const { payload } = payloads.decode(parsed.payload);
          return { status: "plaintext", claimedId: payload.sender_id, text: payload.text };
        }
        case envelope.INITIAL:
          return await this.openInitial(message, parsed);
        case envelope.FOLLOW_UP:
          return await this.openFollowUp(message, parsed);
        default:
          return await this.openGroup(message, parsed);
      }
    } catch (failure) {
      return { status: "invalid", reason: failure.message || "cannot decrypt" };
    }
  }

  /** The shown result of a decrypted payload, bound to `senderId` and checked for a signature. */
  async finish(message, plaintext, { senderId, identityKey, ref, requireSignature }) {
    const { payload, sig } = payloads.decode(plaintext);
    let forged = null;
    if (payload.sender_id !== senderId) forged = "claims another author";
    let signed = false;
    if (sig) {
      signed = payloads.verifySignature(sig, { identityKey, channelId: message.channel_id, ref, senderId });
      if (!signed) forged ??= "bad signature";
    } else if (requireSignature) {
      forged ??= "unsigned under a signed key";
    }
    return { status: "ok", senderId, claimedId: payload.sender_id, content: payload, signed, forged, sentAt: sig?.time ?? null };
  }

  async openGroup(message, parsed) {
    const channelId = message.channel_id;
    const name = receivedName(channelId, parsed.distributionId);
    if (!this.state.receivedSenderKeys[name]) await this.fetchForUnknown(channelId);
    const entry = this.state.receivedSenderKeys[name];
    if (!entry) return { status: "missing" };
    const out = senderKeys.decrypt(entry, parsed);
    if (!out.fromHistory) {
      this.state.receivedSenderKeys[name] = out.received;
      this.save();
    }
    const identityKey = await this.identityOf(entry.fromUserId, channelId);
    const ref = payloads.groupRef(hex(parsed.distributionId), parsed.chainIndex);
    return this.finish(message, out.plaintext, { senderId: entry.fromUserId, identityKey, ref, requireSignature: entry.signed });
  }

  /**
   * Opens the sender keys addressed to us in a channel (each row once per page load). A call while
   * a fetch runs queues one more fetch after it, so a distribution posted meanwhile is not missed.
   */
  fetchSenderKeys(channelId) {
    let entry = this.fetching.get(channelId);
    if (!entry) {
      entry = { current: null, next: null, startedAt: 0 };
      this.fetching.set(channelId, entry);
    }
    if (!entry.current) {
      entry.startedAt = Date.now();
      entry.current = this.openDistributions(channelId).finally(() => { entry.current = null; });
      return entry.current;
    }
    entry.next ??= entry.current.catch(() => {}).then(() => {
      entry.next = null;
      return this.fetchSenderKeys(channelId);
    });
    return entry.next;
  }

  /** For an unknown distribution id: fetch unless a fetch began moments ago (SenderKeysUpdated re-fetches anyway). */
  fetchForUnknown(channelId) {
    const entry = this.fetching.get(channelId);
    if (entry && !entry.current && Date.now() - entry.startedAt < 2000) return Promise.resolve();
    return this.fetchSenderKeys(channelId).catch(() => {});
  }

  async openDistributions(channelId) {
    const rows = await api("GET", `/channels/${channelId}/sender-keys`);
    let changed = false;
    let unopened = 0;
    for (const row of rows) {
      const mark = `${row.id}:${row.created_at}`;
      if (this.opened.has(mark)) continue;
      this.opened.add(mark);
      try {
        const fromIdentityKey = await this.identityOf(row.from_user_id, channelId).catch(() => null);
        const opened = senderKeys.openSkdm(unb64(row.encrypted_skdm), this.state.identity, { channelId, recipientId: this.me, fromIdentityKey });
        const name = receivedName(channelId, opened.distributionId);
        const known = this.state.receivedSenderKeys[name];
        // A distribution id belongs to whoever distributed it first; a chain is never reset.
        if (known) continue;
        this.state.receivedSenderKeys[name] = {
          distributionId: opened.distributionId, chainKey: opened.chainKey, chainIndex: opened.chainIndex,
          fromUserId: row.from_user_id, start: { chainKey: opened.chainKey, chainIndex: opened.chainIndex }, signed: opened.signed,
        };
        changed = true;
      } catch {
        unopened += 1; // sealed to another identity key of ours, altered, or a forged signature
      }
    }
    if (changed) {
      this.save();
      this.scheduleBackup();
    }
    if (unopened) this.checkIdentity().catch(() => {});
  }

  async openInitial(message, parsed) {
    const channelId = message.channel_id;
    if (equal(parsed.identityKey, this.state.identity.publicKey)) {
      // Our own identity started this session: another browser of this account took the DM over
      // (unless it is older than our session: history being re-read).
      const peer = this.peerOf(channelId);
      if (peer && this.isNewest(message)) {
        this.state.renew = { ...this.state.renew, [peer]: true };
        this.save();
      }
      return { status: "other-device", own: true };
    }
    const readers = await this.readers(channelId);
    const member = readers.find((r) => r.identity_key === b64(parsed.identityKey));
    if (!member) {
      const fresh = await this.readers(channelId, true);
      if (!fresh.some((r) => r.identity_key === b64(parsed.identityKey))) {
        return { status: "invalid", reason: "the sender's identity key is not in the directory" };
      }
      return this.openInitial(message, parsed);
    }
    const keys = {
      identity: this.state.identity,
      signedPrekey: this.state.signedPrekey,
      oneTimePrekey: (publicKey) => this.state.oneTimePrekeys.find((k) => equal(k.publicKey, publicKey)) || null,
    };
    let out;
    try {
      out = dm.acceptInitial(keys, parsed, rng);
    } catch (failure) {
      // Made with a prekey another browser of this account published: it can read it, not us.
      if (failure.message === "Unknown one-time prekey") return { status: "other-device" };
      throw failure;
    }
    const peer = member.user_id;
    const header = out.header;
    const result = await this.finish(message, out.plaintext, { senderId: peer, identityKey: parsed.identityKey, ref: payloads.dmRef(header.dh, header.n) });
    // Adopt the new session unless the message is older than what this channel already showed
    // (history being re-read must not replace the live session).
    if (!this.state.sessions[peer] || this.isNewest(message)) {
      this.state.sessions[peer] = out.session;
      delete this.state.pending[peer];
      if (this.state.renew) delete this.state.renew[peer];
      this.state.channelPeers[channelId] = peer;
    }
    if (parsed.oneTimePrekey) this.dropPrekey(parsed.oneTimePrekey); // single use
    this.save();
    this.scheduleBackup();
    return result;
  }

  async openFollowUp(message, parsed) {
    const channelId = message.channel_id;
    const peer = this.state.channelPeers[channelId] || this.peerOf(channelId);
    const session = peer && this.state.sessions[peer];
    if (!session) return { status: this.state.renew?.[peer] ? "other-device" : "invalid", reason: "No session for this peer" };
    let out;
    try {
      out = ratchet.decrypt(session, parsed.message, rng);
    } catch (failure) {
      if (this.state.renew?.[peer]) return { status: "other-device" };
      throw failure;
    }
    this.state.sessions[peer] = out.session;
    this.save();
    this.scheduleBackup();
    const ours = this.state.identity.publicKey;
    const identityKey = equal(session.ad.slice(0, 32), ours) ? session.ad.slice(32) : session.ad.slice(0, 32);
    return this.finish(message, out.plaintext, { senderId: peer, identityKey, ref: payloads.dmRef(out.header.dh, out.header.n) });
  }
}
