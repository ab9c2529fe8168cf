// The Double Ratchet of DMs (e2ee.md 3.3, 4). A session is {state, ad}; every function returns a
// new session and leaves its input untouched, so a message that fails to authenticate changes
// nothing (the original advances its state first: e2ee.md 4.3, 13). Stricter than the original
// and still compatible: skipped message keys are capped per session and expire.

import { b64, concat, equal, readU32le, u32le, unb64 } from "./bytes.js";
import { aeadDecrypt, aeadEncrypt, kdfCk, kdfRk, x25519 } from "./primitives.js";

export const MAX_SKIP = 256; // per message, as the original (a gap of 256 passes, 257 fails)
export const MAX_STORED_SKIPPED = 1000; // per session; the oldest go first
export const SKIPPED_MAX_AGE_MS = 30 * 24 * 3600 * 1000;
const HEADER = 32 + 4 + 4;
const NONCE = 24;
export const MIN_MESSAGE = HEADER + NONCE + 16;

const copy = (bytes) => (bytes ? bytes.slice() : null);

function clone(session) {
  const s = session.state;
  return {
    ad: session.ad,
    state: {
      dhSend: { publicKey: copy(s.dhSend.publicKey), privateKey: copy(s.dhSend.privateKey) },
      dhRecv: copy(s.dhRecv),
      rootKey: copy(s.rootKey),
      chainKeySend: copy(s.chainKeySend),
      chainKeyRecv: copy(s.chainKeyRecv),
      sendCount: s.sendCount,
      recvCount: s.recvCount,
      prevSendCount: s.prevSendCount,
      skippedKeys: s.skippedKeys.map((k) => ({ ...k })),
    },
  };
}

/** Alice after X3DH: a fresh ratchet pair, DHr = Bob's signed prekey (3.3). */
export function initInitiator(sharedKey, ad, peerSignedPrekey, rng) {
  const dhSend = rng.keypair();
  const { rootKey, chainKey } = kdfRk(sharedKey, x25519(dhSend.privateKey, peerSignedPrekey));
  return {
    ad,
    state: {
      dhSend, dhRecv: peerSignedPrekey.slice(), rootKey, chainKeySend: chainKey, chainKeyRecv: null,
      sendCount: 0, recvCount: 0, prevSendCount: 0, skippedKeys: [],
    },
  };
}

/** Bob after X3DH: his signed prekey is his first ratchet pair; RK = SK (3.3). */
export function initResponder(sharedKey, ad, signedPrekey) {
  return {
    ad,
    state: {
      dhSend: { publicKey: signedPrekey.publicKey.slice(), privateKey: signedPrekey.privateKey.slice() },
      dhRecv: null, rootKey: sharedKey.slice(), chainKeySend: null, chainKeyRecv: null,
      sendCount: 0, recvCount: 0, prevSendCount: 0, skippedKeys: [],
    },
  };
}

export const headerBytes = (dh, pn, n) => concat(dh, u32le(pn), u32le(n));

/** The header the next encrypt will use (for signing before encrypting). */
export function nextHeader(session) {
  const s = session.state;
  return { dh: s.dhSend.publicKey, pn: s.prevSendCount, n: s.sendCount };
}

/** 4.2 + 4.5: returns {session, message (serialized DR message), header, messageKey}. */
export function encrypt(session, plaintext, rng) {
  const next = clone(session);
  const s = next.state;
  if (!s.chainKeySend) throw new Error("Cannot send before the peer has written (no sending chain)");
  const { messageKey, chainKey } = kdfCk(s.chainKeySend);
  s.chainKeySend = chainKey;
  const header = { dh: s.dhSend.publicKey.slice(), pn: s.prevSendCount, n: s.sendCount };
  s.sendCount += 1;
  const nonce = rng.bytes(NONCE);
  const head = headerBytes(header.dh, header.pn, header.n);
  const ciphertext = aeadEncrypt(plaintext, concat(next.ad, head), nonce, messageKey);
  return { session: next, message: concat(head, nonce, ciphertext), header, messageKey };
}

export function parseMessage(bytes) {
  if (bytes.length < MIN_MESSAGE) throw new Error("Message too short");
  return {
    dh: bytes.slice(0, 32),
    pn: readU32le(bytes, 32),
    n: readU32le(bytes, 36),
    nonce: bytes.slice(HEADER, HEADER + NONCE),
    ciphertext: bytes.slice(HEADER + NONCE),
    head: bytes.slice(0, HEADER),
  };
}

function skip(s, until, now) {
  if (!s.chainKeyRecv) return;
  if (until - s.recvCount > MAX_SKIP) throw new Error("Too many skipped messages");
  while (s.recvCount < until) {
    const { messageKey, chainKey } = kdfCk(s.chainKeyRecv);
    s.chainKeyRecv = chainKey;
    s.skippedKeys.push({ dhPub: s.dhRecv.slice(), n: s.recvCount, mk: messageKey, at: now });
    s.recvCount += 1;
  }
}

/** Drops expired skipped keys and keeps at most MAX_STORED_SKIPPED (the newest). */
function prune(s, now) {
  s.skippedKeys = s.skippedKeys.filter((k) => !k.at || now - k.at <= SKIPPED_MAX_AGE_MS);
  if (s.skippedKeys.length > MAX_STORED_SKIPPED) s.skippedKeys = s.skippedKeys.slice(-MAX_STORED_SKIPPED);
}

/**
 * 4.3 in the original's rule order, on a copy. Returns {session, plaintext, header, skipped}
 * (skipped: decrypted with a stored skipped key). Throws, with the input unchanged, on failure.
 */
export function decrypt(session, bytes, rng, now = Date.now()) {
  const message = parseMessage(bytes);
  const next = clone(session);
  const s = next.state;
  prune(s, now); // an expired skipped key opens nothing
  const ad = concat(next.ad, message.head);
  const header = { dh: message.dh, pn: message.pn, n: message.n };
  const stored = s.skippedKeys.findIndex((k) => k.n === message.n && equal(k.dhPub, message.dh));
  if (stored >= 0) {
    const plaintext = aeadDecrypt(message.ciphertext, ad, message.nonce, s.skippedKeys[stored].mk);
    s.skippedKeys.splice(stored, 1);
    prune(s, now);
    return { session: next, plaintext, header, skipped: true };
  }
  if (!s.dhRecv || !equal(message.dh, s.dhRecv)) {
    skip(s, message.pn, now);
    s.prevSendCount = s.sendCount;
    s.sendCount = 0;
    s.recvCount = 0;
    s.dhRecv = message.dh.slice();
    let step = kdfRk(s.rootKey, x25519(s.dhSend.privateKey, s.dhRecv));
    s.rootKey = step.rootKey;
    s.chainKeyRecv = step.chainKey;
    s.dhSend = rng.keypair();
    step = kdfRk(s.rootKey, x25519(s.dhSend.privateKey, s.dhRecv));
    s.rootKey = step.rootKey;
    s.chainKeySend = step.chainKey;
  }
  skip(s, message.n, now);
  if (!s.chainKeyRecv) throw new Error("No receiving chain");
  const { messageKey, chainKey } = kdfCk(s.chainKeyRecv);
  s.chainKeyRecv = chainKey;
  s.recvCount += 1;
  const plaintext = aeadDecrypt(message.ciphertext, ad, message.nonce, messageKey);
  prune(s, now);
  return { session: next, plaintext, header, skipped: false, messageKey };
}

// ---- the key-backup form of a session (9.3) ------------------------------------------------------

const opt = (bytes) => (bytes ? b64(bytes) : null);
const unopt = (text, length) => (text === null || text === undefined ? null : unb64(text, length));

/** {state: SerializedSessionState, ad}; `withTimes` keeps our skipped-key ages (local storage). */
export function serialize(session, withTimes = false) {
  const s = session.state;
  return {
    state: {
      dhSend: { publicKey: b64(s.dhSend.publicKey), privateKey: b64(s.dhSend.privateKey) },
      dhRecv: opt(s.dhRecv),
      rootKey: b64(s.rootKey),
      chainKeySend: opt(s.chainKeySend),
      chainKeyRecv: opt(s.chainKeyRecv),
      sendCount: s.sendCount,
      recvCount: s.recvCount,
      prevSendCount: s.prevSendCount,
      skippedKeys: s.skippedKeys.map((k) => (withTimes && k.at ? { dhPub: b64(k.dhPub), n: k.n, mk: b64(k.mk), at: k.at } : { dhPub: b64(k.dhPub), n: k.n, mk: b64(k.mk) })),
    },
    ad: b64(session.ad),
  };
}

const count = (value) => {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) throw new Error("bad counter");
  return value;
};

/** Parses (and validates) the backup form; throws on anything malformed. */
export function deserialize(json, now = Date.now()) {
  const s = json.state;
  return {
    ad: unb64(json.ad, 64),
    state: {
      dhSend: { publicKey: unb64(s.dhSend.publicKey, 32), privateKey: unb64(s.dhSend.privateKey, 32) },
      dhRecv: unopt(s.dhRecv, 32),
      rootKey: unb64(s.rootKey, 32),
      chainKeySend: unopt(s.chainKeySend, 32),
      chainKeyRecv: unopt(s.chainKeyRecv, 32),
      sendCount: count(s.sendCount),
      recvCount: count(s.recvCount),
      prevSendCount: count(s.prevSendCount),
      skippedKeys: (Array.isArray(s.skippedKeys) ? s.skippedKeys : []).slice(-MAX_STORED_SKIPPED).map((k) => ({
        dhPub: unb64(k.dhPub, 32), n: count(k.n), mk: unb64(k.mk, 32), at: Number.isSafeInteger(k.at) ? k.at : now,
      })),
    },
  };
}
