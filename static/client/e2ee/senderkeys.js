// Sender keys for server channels and group DMs (e2ee.md 5): our chain, the 52-byte distribution
// payload sealed to each reader, 0x03 messages, and the receiving side.
//
// Stricter than the original, still compatible:
// * a received chain moves forward only after a message authenticates;
// * a receiver keeps the chain's starting point (what the server's stored distribution gives
//   anyway) so it can read older messages of the chain again (history pages, a restored browser)
//   without resetting the live position; replays are caught by the caller's replay cache;
// * a distribution may carry, after the 52 bytes (which the original ignores), our extension:
//   "HV" 0x01 ‖ Ed25519 signature of the distributor over the channel, the recipient and the 52
//   bytes. A signed distribution promises that every message under it is signed (payload.js).

import { concat, equal, readU32le, u32le, utf8, uuidBytes } from "./bytes.js";
import { aeadDecrypt, aeadEncrypt, kdfCk, openSealed, sealTo, sign, verify } from "./primitives.js";
import * as envelope from "./envelope.js";

export const MAX_SKIP = 256;
export const MAX_HISTORY = 5000; // how far back from its start a chain is re-derived for history
const SKDM_BYTES = 52;
const EXTENSION = Uint8Array.of(0x48, 0x56, 0x01);
const SKDM_SIG_LABEL = utf8("haven-skdm-sig-v1");

/** A fresh own sender key (5.2): 16 random id bytes, 32 random chain-key bytes, index 0. */
export const generate = (rng) => ({ distributionId: rng.bytes(16), chainKey: rng.bytes(32), chainIndex: 0 });

/** 5.3: distribution id ‖ u32le(index) ‖ chain key. */
export const skdmPayload = (key) => concat(key.distributionId, u32le(key.chainIndex), key.chainKey);

export function parseSkdm(bytes) {
  if (bytes.length < SKDM_BYTES) throw new Error("Sender key distribution too short");
  const extension = bytes.length >= SKDM_BYTES + 3 + 64 && equal(bytes.slice(52, 55), EXTENSION)
    ? bytes.slice(55, 55 + 64) : null;
  return {
    distributionId: bytes.slice(0, 16),
    chainIndex: readU32le(bytes, 16),
    chainKey: bytes.slice(20, 52),
    signature: extension,
    payload: bytes.slice(0, SKDM_BYTES),
  };
}

const skdmSigned = (channelId, recipientId, payload) =>
  concat(SKDM_SIG_LABEL, uuidBytes(channelId), uuidBytes(recipientId), payload);

/** The sealed distribution for one reader (5.4), with our signed extension when `identity` is given. */
export function sealSkdm(key, recipientIdentityKey, { channelId, recipientId, identity } = {}) {
  let payload = skdmPayload(key);
  if (identity) {
    payload = concat(payload, EXTENSION, sign(skdmSigned(channelId, recipientId, payload), identity.privateKey));
  }
  return sealTo(payload, recipientIdentityKey);
}

/**
 * Opens a distribution addressed to us. Returns the parsed payload plus `signed`: true when our
 * extension verified under the distributor's identity key, false without one. Throws when it does
 * not open, does not parse, or carries an extension that does not verify (planted or altered).
 */
export function openSkdm(box, identity, { channelId, recipientId, fromIdentityKey } = {}) {
  const parsed = parseSkdm(openSealed(box, identity));
  if (!parsed.signature) return { ...parsed, signed: false };
  const ok = fromIdentityKey && verify(parsed.signature, skdmSigned(channelId, recipientId, parsed.payload), fromIdentityKey);
  if (!ok) throw new Error("The sender key's signature does not verify");
  return { ...parsed, signed: true };
}

/** 5.5: encrypts with our chain; returns {key (advanced), body, chainIndex, messageKey}. */
export function encrypt(key, plaintext, rng) {
  const { messageKey, chainKey } = kdfCk(key.chainKey);
  const nonce = rng.bytes(24);
  const ciphertext = aeadEncrypt(plaintext, key.distributionId, nonce, messageKey);
  const body = envelope.group({ distributionId: key.distributionId, chainIndex: key.chainIndex, nonce, ciphertext });
  return { key: { distributionId: key.distributionId, chainKey, chainIndex: key.chainIndex + 1 }, body, chainIndex: key.chainIndex, messageKey };
}

function deriveFrom(chainKey, from, to) {
  let ck = chainKey;
  let messageKey = null;
  for (let i = from; i <= to; i += 1) ({ messageKey, chainKey: ck } = kdfCk(ck));
  return { messageKey, chainKey: ck };
}

/**
 * Decrypts a parsed 0x03 with a received chain {distributionId, chainKey, chainIndex, start?}
 * (start = {chainKey, chainIndex}, where the distribution began). Returns {received (the new
 * state), plaintext, fromHistory}. Throws, with `received` unchanged, when the index is out of
 * reach or the message does not authenticate.
 */
export function decrypt(received, message) {
  if (!equal(received.distributionId, message.distributionId)) throw new Error("Wrong distribution");
  const i = message.chainIndex;
  if (i >= received.chainIndex) {
    if (i - received.chainIndex > MAX_SKIP) throw new Error("Too many skipped messages");
    const { messageKey, chainKey } = deriveFrom(received.chainKey, received.chainIndex, i);
    const plaintext = aeadDecrypt(message.ciphertext, message.distributionId, message.nonce, messageKey);
    return { received: { ...received, chainKey, chainIndex: i + 1 }, plaintext, fromHistory: false };
  }
  const start = received.start;
  if (!start || i < start.chainIndex || i - start.chainIndex > MAX_HISTORY) throw new Error("Chain index already consumed");
  const { messageKey } = deriveFrom(start.chainKey, start.chainIndex, i);
  const plaintext = aeadDecrypt(message.ciphertext, message.distributionId, message.nonce, messageKey);
  return { received, plaintext, fromHistory: true };
}
