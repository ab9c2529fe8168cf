// Sender keys: one symmetric hash ratchet per (sender, channel, distribution). Each message uses
// the next message key of the chain, so a sender never reuses a key, and a reader that was handed
// the chain at iteration n can read messages n, n+1, ... but nothing before n.
//
//   message_key(ck) = HKDF(ck, salt = "", info = "haven-sk-message")
//   next_chain(ck)  = HKDF(ck, salt = "", info = "haven-sk-chain")
//
// Ciphertext layout (the `encrypted_body` of a message, base64 on the wire):
//   0x01 | distribution_id (16) | iteration (uint32 BE) | iv (12) | AES-256-GCM(ciphertext+tag)
//   AAD = "haven-msg-v1" | channel_id (16) | the 21 header bytes above
// so a body cannot be moved to another channel or re-labelled with another iteration.
//
// State lives in localStorage (`haven.senderkeys.<me>`): `own[channel]` is this user's current
// chain for a channel, `received[distribution]` the starting point of every chain this device can
// read (its own included, so a sender reads their own history).

import { bytesToUuid, concat, fromB64, randomBytes, toB64, utf8, uuidToBytes } from "../util.js";
import { aesDecrypt, aesEncrypt, hkdf } from "./primitives.js";

const VERSION = 1;
const HEADER = 1 + 16 + 4;
const MAX_SKIP = 20000; // refuse to ratchet absurdly far on a forged iteration number
const EMPTY = new Uint8Array(0);

const messageKey = (chainKey) => hkdf(chainKey, EMPTY, "haven-sk-message");
const nextChain = (chainKey) => hkdf(chainKey, EMPTY, "haven-sk-chain");

export class SenderKeyStore {
  constructor(me) {
    this.key = `haven.senderkeys.${me}`;
    this.state = this.load();
    this.positions = new Map(); // distribution id -> {iteration, chainKey}: ratchet memo
  }

  load() {
    try {
      const value = JSON.parse(localStorage.getItem(this.key));
      if (value?.own && value?.received) return { opened: {}, ...value };
    } catch {
      /* fall through to an empty store */
    }
    return { own: {}, received: {}, opened: {} };
  }

  save() {
    localStorage.setItem(this.key, JSON.stringify(this.state));
  }

  own(channelId) {
    return this.state.own[channelId] || null;
  }

  /** Starts a new chain for this user in `channelId` (rotation) and remembers it as readable. */
  rotate(channelId, me) {
    const record = {
      distributionId: crypto.randomUUID(),
      chainKey: toB64(randomBytes(32)),
      iteration: 0,
      recipients: [],
    };
    this.state.own[channelId] = record;
    this.remember(record.distributionId, {
      channelId, senderId: me, iteration: 0, chainKey: record.chainKey, identityKey: null,
    });
    return record;
  }

  setRecipients(channelId, recipients) {
    this.state.own[channelId].recipients = [...recipients].sort();
    this.save();
  }

  remember(distributionId, entry) {
    const known = this.state.received[distributionId];
    // Keep the earliest starting point we were given: it reads the most history.
    if (known && known.iteration <= entry.iteration) return;
    this.state.received[distributionId] = entry;
    this.positions.delete(distributionId);
    this.save();
  }

  received(distributionId) {
    return this.state.received[distributionId] || null;
  }

  isOpened(rowId, createdAt) {
    return this.state.opened[rowId] === createdAt;
  }

  markOpened(rowId, createdAt) {
    this.state.opened[rowId] = createdAt;
    this.save();
  }

  /** Takes the next message key of this user's chain, persisting the advance before use. */
  async nextOwnKey(channelId) {
    const record = this.state.own[channelId];
    const chainKey = fromB64(record.chainKey);
    const iteration = record.iteration;
    const key = await messageKey(chainKey);
    record.chainKey = toB64(await nextChain(chainKey));
    record.iteration = iteration + 1;
    this.save();
    return { distributionId: record.distributionId, iteration, key };
  }

  /** The message key for `iteration` of a chain this device holds, or null. */
  async keyFor(distributionId, iteration) {
    const start = this.state.received[distributionId];
    if (!start || iteration < start.iteration || iteration - start.iteration > MAX_SKIP) return null;
    let position = this.positions.get(distributionId);
    if (!position || position.iteration > iteration) {
      position = { iteration: start.iteration, chainKey: fromB64(start.chainKey) };
    }
    let { chainKey } = position;
    for (let i = position.iteration; i < iteration; i += 1) chainKey = await nextChain(chainKey);
    this.positions.set(distributionId, { iteration, chainKey });
    return messageKey(chainKey);
  }
}

function aad(channelId, header) {
  return concat(utf8("haven-msg-v1"), uuidToBytes(channelId), header);
}

export async function encryptBody(channelId, { distributionId, iteration, key }, plaintext) {
  const header = new Uint8Array(HEADER);
  header[0] = VERSION;
  header.set(uuidToBytes(distributionId), 1);
  new DataView(header.buffer).setUint32(17, iteration);
  const iv = randomBytes(12);
  const ciphertext = await aesEncrypt(key, iv, plaintext, aad(channelId, header));
  return concat(header, iv, ciphertext);
}

/** Splits a body into its header fields; null when it is not this scheme's format. */
export function parseBody(bytes) {
  if (bytes.length < HEADER + 12 + 16 || bytes[0] !== VERSION) return null;
  return {
    distributionId: bytesToUuid(bytes.subarray(1, 17)),
    iteration: new DataView(bytes.buffer, bytes.byteOffset).getUint32(17),
    header: bytes.subarray(0, HEADER),
    iv: bytes.subarray(HEADER, HEADER + 12),
    ciphertext: bytes.subarray(HEADER + 12),
  };
}

export async function decryptBody(channelId, parsed, key) {
  return aesDecrypt(key, parsed.iv, parsed.ciphertext, aad(channelId, parsed.header));
}
