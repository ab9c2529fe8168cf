// Sending (e2ee.md 3-5): a payload sealed with the Double Ratchet in a DM, with our sender key in
// every other channel (distributed first to every current reader, renewed when one left or on
// the schedule). Methods of E2ee (service.js), kept here to keep that module readable.

import { api } from "../api.js";
import { b64, equal, hex, unb64, utf8, uuidText } from "./bytes.js";
import * as dm from "./dm.js";
import * as payloads from "./payload.js";
import * as ratchet from "./ratchet.js";
import * as senderKeys from "./senderkeys.js";
import { receivedName } from "./backup-json.js";
import { systemRandom as rng } from "./sodium.js";

export const MAX_BODY = 8192; // WS SendMessage limit on the decoded body
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

export const sending = {
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
  },

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
  },

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
  },

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
  },

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
  },
};
