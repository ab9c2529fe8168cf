// Receiving (e2ee.md 3-5, 13): one ordered queue; each message opened once (cached), bound to the
// author the server vouches for, checked for a signature, refused as a replay, plaintext or from
// another identity. Methods of E2ee (service.js), kept here to keep that module readable.

import { api } from "../api.js";
import { b64, equal, hex, unb64, utf8 } from "./bytes.js";
import * as dm from "./dm.js";
import * as envelope from "./envelope.js";
import * as payloads from "./payload.js";
import { sha256 } from "./primitives.js";
import * as ratchet from "./ratchet.js";
import * as senderKeys from "./senderkeys.js";
import { receivedName } from "./backup-json.js";
import { systemRandom as rng } from "./sodium.js";

export const receiving = {
  /**
   * Decrypts a message (MessageResponse). Messages go through one queue, once each, in the order
   * asked (callers ask oldest first). Result statuses: ok, system, missing (no key yet), replay,
   * plaintext (refused 0x00), other-device (sent by or to this account's other browser), invalid.
   */
  decrypt(message) {
    const task = this.queue.then(() => this.decryptNow(message));
    this.queue = task.catch(() => {});
    return task;
  },

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
  },

  /** A DM message was processed: later 0x01s are newer than this (server time, never our clock). */
  noteSeen(message) {
    const seen = this.state.lastSeen[message.channel_id];
    if (!seen || Date.parse(message.timestamp) > Date.parse(seen)) {
      this.state.lastSeen[message.channel_id] = message.timestamp;
      this.save();
    }
  },

  /** Is this message newer than everything processed in its DM channel (so live, not history)? */
  isNewest(message) {
    const seen = this.state.lastSeen[message.channel_id];
    return !seen || Date.parse(message.timestamp) > Date.parse(seen);
  },

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
  },

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
  },

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
  },

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
  },

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
  },

  /** For an unknown distribution id: fetch unless a fetch began moments ago (SenderKeysUpdated re-fetches anyway). */
  fetchForUnknown(channelId) {
    const entry = this.fetching.get(channelId);
    if (entry && !entry.current && Date.now() - entry.startedAt < 2000) return Promise.resolve();
    return this.fetchSenderKeys(channelId).catch(() => {});
  },

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
  },

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
  },

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
  },
};
