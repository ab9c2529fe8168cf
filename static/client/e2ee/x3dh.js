// X3DH session establishment for DMs (e2ee.md 3.1, 3.2).

import { concat, unb64 } from "./bytes.js";
import { edPublicToX, edSecretToX, hkdf, verify, x25519 } from "./primitives.js";

const F = new Uint8Array(32).fill(0xff);
const SALT = new Uint8Array(32);

function sharedKey(dhs) {
  const ikm = concat(F, ...dhs.filter(Boolean));
  return { ikm, sharedKey: hkdf(SALT, ikm, "haven_x3dh", 32) };
}

/**
 * Initiator side. `bundle` is the JSON of GET /users/{id}/keys. Throws when the signed prekey's
 * signature does not verify under the bundle's identity key. `rng.keypair()` gives EK_A.
 */
export function initiate(identity, bundle, rng) {
  const peerIdentity = unb64(bundle.identity_key, 32);
  const signedPrekey = unb64(bundle.signed_prekey, 32);
  const signature = unb64(bundle.signed_prekey_sig, 64);
  const oneTimePrekey = bundle.one_time_prekey ? unb64(bundle.one_time_prekey, 32) : null;
  if (!verify(signature, signedPrekey, peerIdentity)) throw new Error("The signed prekey's signature is invalid");
  const ephemeral = rng.keypair();
  const dh1 = x25519(edSecretToX(identity.privateKey), signedPrekey);
  const dh2 = x25519(ephemeral.privateKey, edPublicToX(peerIdentity));
  const dh3 = x25519(ephemeral.privateKey, signedPrekey);
  const dh4 = oneTimePrekey ? x25519(ephemeral.privateKey, oneTimePrekey) : null;
  return {
    ...sharedKey([dh1, dh2, dh3, dh4]),
    dh1, dh2, dh3, dh4,
    ad: concat(identity.publicKey, peerIdentity),
    ephemeral,
    peerIdentity,
    signedPrekey,
    oneTimePrekey,
  };
}

/**
 * Responder side: our identity, our current signed prekey pair, the one-time prekey pair named in
 * the message (or null), and IK_A / EK_A from the 0x01 header.
 */
export function respond(identity, signedPrekey, oneTimePrekey, initiatorIdentity, initiatorEphemeral) {
  const dh1 = x25519(signedPrekey.privateKey, edPublicToX(initiatorIdentity));
  const dh2 = x25519(edSecretToX(identity.privateKey), initiatorEphemeral);
  const dh3 = x25519(signedPrekey.privateKey, initiatorEphemeral);
  const dh4 = oneTimePrekey ? x25519(oneTimePrekey.privateKey, initiatorEphemeral) : null;
  return { ...sharedKey([dh1, dh2, dh3, dh4]), dh1, dh2, dh3, dh4, ad: concat(initiatorIdentity, identity.publicKey) };
}
