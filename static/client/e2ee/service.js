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
import { b64, equal, unb64, utf8 } from "./bytes.js";
import * as dm from "./dm.js";
import { MessageCache, Trust, emptyState, forget, loadState, saveState } from "./keystore.js";
import { identityKeypair, secretbox, sign } from "./primitives.js";
import * as ratchet from "./ratchet.js";
import { safetyNumber } from "./safety.js";
import { backupJson, parseBackup } from "./backup-json.js";
import { receiving } from "./receive.js";
import { sending } from "./send.js";
import { systemRandom as rng } from "./sodium.js";

const PREKEYS = 20;
const BACKUP_DELAY_MS = 5000;
const IDENTITY_CHECK_MS = 120_000;

export { MAX_BODY, ROTATION_DEFAULTS, rotationPolicy, setRotationPolicy } from "./send.js";

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
}

// Sending and receiving live in their own modules; they are methods of the same service.
Object.assign(E2ee.prototype, sending, receiving);
