// The key-backup plaintext (e2ee.md 9.3) <-> this client's key state. Field names, encodings and
// key order are the original's, so either client restores the other's backup. What only this
// client keeps (where received chains started, which distributions promised signatures) travels
// under one extra top-level key, "havenWeb", which the original does not read.

import { b64, hex, unb64 } from "./bytes.js";
import * as ratchet from "./ratchet.js";

const senderKeyOut = (k) => ({ distributionId: b64(k.distributionId), chainKey: b64(k.chainKey), chainIndex: k.chainIndex });
const senderKeyIn = (k) => {
  if (!Number.isSafeInteger(k.chainIndex) || k.chainIndex < 0 || k.chainIndex > 0xffffffff) throw new Error("bad chain index");
  return { distributionId: unb64(k.distributionId, 16), chainKey: unb64(k.chainKey, 32), chainIndex: k.chainIndex };
};

/** A received chain from its backup entry {fromUserId, key}: it starts where it was saved. */
export function receivedFromBackup(entry, extra = {}) {
  const key = senderKeyIn(entry.key);
  const start = extra.start ? { chainKey: unb64(extra.start.chainKey, 32), chainIndex: extra.start.chainIndex } : { chainKey: key.chainKey, chainIndex: key.chainIndex };
  return { ...key, fromUserId: String(entry.fromUserId), start, signed: extra.signed === true };
}

export const receivedName = (channelId, distributionId) => `${channelId}:${hex(distributionId)}`;

/** Parses a backup plaintext JSON text into key state; throws when anything is malformed. */
export function parseBackup(text) {
  const json = JSON.parse(text);
  if (json?.version !== 1) throw new Error("Unsupported key backup version");
  const identity = { publicKey: unb64(json.identity.publicKey, 32), privateKey: unb64(json.identity.privateKey, 64) };
  const spk = json.signedPreKey;
  const extra = json.havenWeb || {};
  const state = {
    identity,
    signedPrekey: { publicKey: unb64(spk.publicKey, 32), privateKey: unb64(spk.privateKey, 32), signature: unb64(spk.signature, 64) },
    sessions: {},
    mySenderKeys: {},
    receivedSenderKeys: {},
    distributedChannels: new Set((json.distributedChannels || []).map(String)),
    channelPeers: { ...(json.channelPeerMap || {}) },
  };
  for (const [peer, session] of Object.entries(json.sessions || {})) state.sessions[peer] = ratchet.deserialize(session);
  for (const [channel, key] of Object.entries(json.mySenderKeys || {})) state.mySenderKeys[channel] = senderKeyIn(key);
  for (const [name, entry] of Object.entries(json.receivedSenderKeys || {})) {
    state.receivedSenderKeys[name] = receivedFromBackup(entry, extra.received?.[name]);
  }
  return state;
}

/** The backup plaintext JSON text of key state, in the original's key order. */
export function backupJson(state, timestamp = new Date().toISOString()) {
  const sessions = {};
  for (const [peer, session] of Object.entries(state.sessions)) sessions[peer] = ratchet.serialize(session);
  const mySenderKeys = {};
  for (const [channel, key] of Object.entries(state.mySenderKeys)) mySenderKeys[channel] = senderKeyOut(key);
  const receivedSenderKeys = {};
  const received = {};
  for (const [name, entry] of Object.entries(state.receivedSenderKeys)) {
    receivedSenderKeys[name] = { fromUserId: entry.fromUserId, key: senderKeyOut(entry) };
    const start = entry.start && (entry.start.chainIndex !== entry.chainIndex || entry.signed);
    if (start) received[name] = { start: { chainKey: b64(entry.start.chainKey), chainIndex: entry.start.chainIndex }, signed: Boolean(entry.signed) };
  }
  const out = {
    version: 1,
    identity: { publicKey: b64(state.identity.publicKey), privateKey: b64(state.identity.privateKey) },
    signedPreKey: { publicKey: b64(state.signedPrekey.publicKey), privateKey: b64(state.signedPrekey.privateKey), signature: b64(state.signedPrekey.signature) },
    sessions,
    mySenderKeys,
    receivedSenderKeys,
    distributedChannels: [...state.distributedChannels],
    channelPeerMap: { ...state.channelPeers },
    timestamp,
  };
  if (Object.keys(received).length) out.havenWeb = { received };
  return JSON.stringify(out);
}
