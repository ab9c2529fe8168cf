// The plaintext payload JSON inside every envelope (e2ee.md 6.1) and our optional sender
// signature. Keys go in the original's order (sender_id, text, attachments, content_type,
// formatting, link_previews) so encrypt-direction vectors reproduce byte for byte; optional keys are
// omitted when unused. Receivers tolerate unknown and missing optional keys.
//
// Signature (our addition under the key "sig", ignored by original clients): {"t": <ms>, "s": b64}
// where s = Ed25519(identity, "haven-msg-sig-v1" 0 channel 0 ref 0 sender 0 t 0 SHA-256(P)), P
// being the payload JSON text without "sig" and ref naming the message's place in its chain
// ("g:<hex distribution id>:<chain index>" or "d:<b64 ratchet key>:<n>"). So a signed message
// cannot be re-attributed, moved to another channel or chain position, or have its time, text,
// files or formatting changed by anyone else holding the chain key.

import { b64, fromUtf8, unb64, utf8 } from "./bytes.js";
import { sha256, sign, verify } from "./primitives.js";

const LABEL = "haven-msg-sig-v1";

/** The payload object in the original's key order. */
export function build({ senderId, text, attachments, contentType, formatting, linkPreviews }) {
  const payload = { sender_id: senderId, text: text ?? "" };
  if (attachments?.length) payload.attachments = attachments;
  if (contentType && formatting) {
    payload.content_type = contentType;
    payload.formatting = formatting;
  }
  if (linkPreviews?.length) payload.link_previews = linkPreviews.slice(0, 3);
  return payload;
}

export const groupRef = (distributionIdHex, chainIndex) => `g:${distributionIdHex}:${chainIndex}`;
export const dmRef = (ratchetKey, n) => `d:${b64(ratchetKey)}:${n}`;

function signedBytes({ channelId, ref, senderId, time, json }) {
  const digest = b64(sha256(utf8(json)));
  return utf8([LABEL, channelId, ref, senderId, String(time), digest].join("\0"));
}

/** The UTF-8 plaintext of a payload, signed when `identity` is given. */
export function encode(payload, { identity, channelId, ref, time } = {}) {
  const json = JSON.stringify(payload);
  if (!identity) return utf8(json);
  const s = sign(signedBytes({ channelId, ref, senderId: payload.sender_id, time, json }), identity.privateKey);
  return utf8(JSON.stringify({ ...payload, sig: { t: time, s: b64(s) } }));
}

/**
 * Parses decrypted bytes. Returns {payload, sig} where payload has typed, defaulted fields and sig
 * is {time, signature, json} (the text that was signed) or null. Throws on bad UTF-8 or JSON, or a
 * payload that is not an object.
 */
export function decode(bytes) {
  const raw = JSON.parse(fromUtf8(bytes));
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new Error("The payload is not an object");
  let sig = null;
  if ("sig" in raw) {
    const { sig: given, ...rest } = raw;
    try {
      if (given && Number.isSafeInteger(given.t)) sig = { time: given.t, signature: unb64(given.s, 64), json: JSON.stringify(rest) };
    } catch {
      sig = null;
    }
    sig ??= { time: null, signature: null, json: JSON.stringify(rest) }; // present but malformed
  }
  const payload = {
    sender_id: typeof raw.sender_id === "string" ? raw.sender_id : null,
    text: typeof raw.text === "string" ? raw.text : "",
  };
  if (Array.isArray(raw.attachments)) payload.attachments = raw.attachments;
  if (typeof raw.content_type === "string" && raw.formatting && typeof raw.formatting === "object") {
    payload.content_type = raw.content_type;
    payload.formatting = raw.formatting;
  }
  if (Array.isArray(raw.link_previews)) payload.link_previews = raw.link_previews;
  return { payload, sig };
}

/** True when a decoded signature verifies for this sender, channel and chain position. */
export function verifySignature(sig, { identityKey, channelId, ref, senderId }) {
  if (!sig?.signature || sig.time === null) return false;
  return verify(sig.signature, signedBytes({ channelId, ref, senderId, time: sig.time, json: sig.json }), identityKey);
}
