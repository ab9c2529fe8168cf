// What this browser keeps for the signed-in user, never sent anywhere in clear:
//
//   localStorage "haven.e2ee.<me>"   key state: identity, signed prekey, one-time prekeys (private
//                                    halves kept, unlike the original, so a reload does not make
//                                    the published ones useless), DM sessions and pending X3DH
//                                    data, sender keys (own and received), channel -> peer map,
//                                    the backup key (Argon2id output + salt, never the phrase)
//   localStorage "haven.trust.<me>"  identity keys seen for other users, verified marks, and the
//                                    key changes not yet acknowledged (lasting notices)
//   IndexedDB "haven-e2ee-<me>"      decrypted messages by id (a sender cannot decrypt its own DM
//                                    messages again, and Double Ratchet keys are single-use) and
//                                    the replay index (chain position -> first message id)

import { b64, unb64 } from "./bytes.js";
import { backupJson, parseBackup } from "./backup-json.js";

const stateKey = (me) => `haven.e2ee.${me}`;
const trustKey = (me) => `haven.trust.${me}`;

function readJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key)) || null;
  } catch {
    return null;
  }
}

const pairIn = (p) => ({ publicKey: unb64(p.publicKey, 32), privateKey: unb64(p.privateKey, 32) });
const pairOut = (p) => ({ publicKey: b64(p.publicKey), privateKey: b64(p.privateKey) });

/** A fresh, empty state around an identity and signed prekey. */
export function emptyState(identity, signedPrekey, oneTimePrekeys = []) {
  return {
    identity,
    signedPrekey,
    oneTimePrekeys,
    sessions: {},
    pending: {},
    mySenderKeys: {},
    senderMeta: {}, // channel -> {recipients: [ids], createdAt, sent}
    receivedSenderKeys: {},
    distributedChannels: new Set(),
    channelPeers: {},
    renew: {}, // peer -> true: start a new session on the next send (after a restore, or taken over)
    lastSeen: {}, // DM channel -> server time of the newest message processed (older 0x01s are history)
    backupKey: null, // {key, salt}
    backupDirty: false,
  };
}

/** The stored state of `me`, or null (no keys in this browser, or unreadable). */
export function loadState(me) {
  const stored = readJson(stateKey(me));
  if (!stored?.keys) return null;
  try {
    const state = { ...emptyState(), ...parseBackup(stored.keys) };
    const local = stored.local || {};
    state.oneTimePrekeys = (local.oneTimePrekeys || []).map(pairIn);
    for (const [peer, p] of Object.entries(local.pending || {})) {
      state.pending[peer] = { identityKey: unb64(p.identityKey, 32), ephemeralKey: unb64(p.ephemeralKey, 32), oneTimePrekey: p.oneTimePrekey ? unb64(p.oneTimePrekey, 32) : null };
    }
    state.senderMeta = local.senderMeta || {};
    state.renew = local.renew || {};
    state.lastSeen = local.lastSeen || {};
    for (const [peer, entry] of Object.entries(local.skipTimes || {})) {
      const session = state.sessions[peer];
      if (session) session.state.skippedKeys.forEach((k, i) => { k.at = entry[i] ?? k.at; });
    }
    state.backupKey = local.backupKey ? { key: unb64(local.backupKey.key, 32), salt: unb64(local.backupKey.salt, 16) } : null;
    state.backupDirty = Boolean(local.backupDirty);
    return state;
  } catch {
    return null;
  }
}

export function saveState(me, state) {
  const pending = {};
  for (const [peer, p] of Object.entries(state.pending)) {
    pending[peer] = { identityKey: b64(p.identityKey), ephemeralKey: b64(p.ephemeralKey), oneTimePrekey: p.oneTimePrekey ? b64(p.oneTimePrekey) : null };
  }
  const skipTimes = {};
  for (const [peer, session] of Object.entries(state.sessions)) {
    if (session.state.skippedKeys.length) skipTimes[peer] = session.state.skippedKeys.map((k) => k.at || null);
  }
  localStorage.setItem(stateKey(me), JSON.stringify({
    keys: backupJson(state),
    local: {
      oneTimePrekeys: state.oneTimePrekeys.map(pairOut),
      pending,
      senderMeta: state.senderMeta,
      renew: state.renew,
      lastSeen: state.lastSeen,
      skipTimes,
      backupKey: state.backupKey ? { key: b64(state.backupKey.key), salt: b64(state.backupKey.salt) } : null,
      backupDirty: state.backupDirty,
    },
  }));
}

export function hasState(me) {
  return Boolean(readJson(stateKey(me))?.keys);
}

/** Removes everything this browser holds for `me` (sign-out with "remove keys", new keys). */
export async function forget(me, { keepTrust = false } = {}) {
  localStorage.removeItem(stateKey(me));
  if (!keepTrust) localStorage.removeItem(trustKey(me));
  await new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(`haven-e2ee-${me}`);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

// ---- trust: identity keys of other users ----------------------------------------------------------

export class Trust {
  constructor(me) {
    this.me = me;
    this.data = readJson(trustKey(me)) || {};
  }

  save() {
    localStorage.setItem(trustKey(this.me), JSON.stringify(this.data));
  }

  /**
   * Records the identity key the directory gives for `userId`. Returns "new", "same" or
   * "changed"; a change is remembered as a notice until acknowledged, and a verified contact
   * loses the mark (flagged before the next send).
   */
  see(userId, identityKeyB64) {
    const entry = this.data[userId];
    if (!entry) {
      this.data[userId] = { key: identityKeyB64, verified: false, changes: [] };
      this.save();
      return "new";
    }
    if (entry.key === identityKeyB64) return "same";
    entry.changes.push({ at: new Date().toISOString(), from: entry.key, to: identityKeyB64, wasVerified: entry.verified });
    entry.changes = entry.changes.slice(-5);
    entry.key = identityKeyB64;
    entry.verifiedLost = entry.verifiedLost || entry.verified;
    entry.verified = false;
    this.save();
    return "changed";
  }

  key(userId) {
    return this.data[userId]?.key || null;
  }

  verified(userId) {
    return Boolean(this.data[userId]?.verified);
  }

  /** A verified contact whose key changed since: the next send must be confirmed. */
  verifiedLost(userId) {
    return Boolean(this.data[userId]?.verifiedLost);
  }

  setVerified(userId, verified) {
    const entry = this.data[userId];
    if (!entry) return;
    entry.verified = verified;
    entry.verifiedLost = false;
    if (verified) entry.changes = [];
    this.save();
  }

  /** Unacknowledged key changes of a user: [{at, from, to}]. */
  changes(userId) {
    return this.data[userId]?.changes || [];
  }

  acknowledge(userId) {
    const entry = this.data[userId];
    if (!entry) return;
    entry.changes = [];
    entry.verifiedLost = false;
    this.save();
  }
}

// ---- IndexedDB: decrypted messages and the replay index --------------------------------------------

export class MessageCache {
  constructor(me) {
    this.db = new Promise((resolve, reject) => {
      const request = indexedDB.open(`haven-e2ee-${me}`, 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore("messages");
        request.result.createObjectStore("refs");
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    this.db.catch(() => {}); // a browser without IndexedDB: nothing is cached (see get/put)
  }

  async run(store, mode, fn) {
    let db;
    try {
      db = await this.db;
    } catch {
      return undefined;
    }
    return new Promise((resolve) => {
      const tx = db.transaction(store, mode);
      const request = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = tx.onabort = () => resolve(undefined);
    });
  }

  get(store, key) {
    return this.run(store, "readonly", (s) => s.get(key));
  }

  put(store, key, value) {
    return this.run(store, "readwrite", (s) => s.put(value, key));
  }
}
