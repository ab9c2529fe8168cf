// DM sessions end to end (e2ee.md 3.5, 4): X3DH + ratchet initialisation + the 0x01 / 0x02
// envelopes. Pure functions over plain objects; the caller persists what they return.

import * as envelope from "./envelope.js";
import * as ratchet from "./ratchet.js";
import * as x3dh from "./x3dh.js";

/**
 * Initiator: a new session from the peer's bundle. `pending` holds the X3DH data the next message
 * carries as 0x01 (IK_A, EK_A, the OPK used).
 */
export function startSession(identity, bundle, rng) {
  const agreed = x3dh.initiate(identity, bundle, rng);
  const session = ratchet.initInitiator(agreed.sharedKey, agreed.ad, agreed.signedPrekey, rng);
  return {
    session,
    pending: { identityKey: identity.publicKey, ephemeralKey: agreed.ephemeral.publicKey, oneTimePrekey: agreed.oneTimePrekey },
    peerIdentity: agreed.peerIdentity,
    agreed,
  };
}

/** Encrypts the next message: 0x01 while `pending` is set, else 0x02. Returns {session, body, header}. */
export function encrypt(session, pending, plaintext, rng) {
  const out = ratchet.encrypt(session, plaintext, rng);
  const body = pending ? envelope.initial({ ...pending, message: out.message }) : envelope.followUp(out.message);
  return { session: out.session, body, header: out.header, messageKey: out.messageKey };
}

/**
 * Responder: a 0x01 (parsed) creates a brand-new session. `keys` = {identity, signedPrekey,
 * oneTimePrekey(publicKey) -> pair | null}. Throws when the named one-time prekey is unknown (the
 * original would compute without DH4 and fail anyway) or the message does not authenticate.
 */
export function acceptInitial(keys, parsed, rng) {
  let oneTime = null;
  if (parsed.oneTimePrekey) {
    oneTime = keys.oneTimePrekey(parsed.oneTimePrekey);
    if (!oneTime) throw new Error("Unknown one-time prekey");
  }
  const agreed = x3dh.respond(keys.identity, keys.signedPrekey, oneTime, parsed.identityKey, parsed.ephemeralKey);
  const session = ratchet.initResponder(agreed.sharedKey, agreed.ad, keys.signedPrekey);
  const out = ratchet.decrypt(session, parsed.message, rng);
  return { ...out, agreed, peerIdentity: parsed.identityKey };
}
