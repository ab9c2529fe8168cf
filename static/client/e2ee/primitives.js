// The protocol's primitives (e2ee.md 1.2, 1.4) over libsodium: HKDF and the two ratchet KDFs,
// identity keys and their X25519 forms, X25519, the message AEAD, sealed boxes, secretbox.

import { concat, utf8 } from "./bytes.js";
import { sodium } from "./sodium.js";

// ---- KDFs (1.4) -------------------------------------------------------------------------------

const hmac = (key, message) => sodium.crypto_auth_hmacsha256(message, key);

/** HKDF-SHA256 (RFC 5869); every salt the protocol uses is 32 bytes. */
export function hkdf(salt, ikm, info, length) {
  const prk = hmac(salt, ikm);
  const infoBytes = typeof info === "string" ? utf8(info) : info;
  const out = new Uint8Array(length);
  let previous = new Uint8Array(0);
  for (let i = 1, filled = 0; filled < length; i += 1) {
    previous = hmac(prk, concat(previous, infoBytes, Uint8Array.of(i)));
    out.set(previous.subarray(0, Math.min(32, length - filled)), filled);
    filled += 32;
  }
  return out;
}

/** KDF_RK: HKDF(salt = root key, IKM = DH output, "haven_ratchet", 64) -> new root, chain key. */
export function kdfRk(rootKey, dhOutput) {
  const out = hkdf(rootKey, dhOutput, "haven_ratchet", 64);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32, 64) };
}

/** KDF_CK: message key = HMAC(ck, 0x01), next chain key = HMAC(ck, 0x02). */
export function kdfCk(chainKey) {
  return { messageKey: hmac(chainKey, Uint8Array.of(1)), chainKey: hmac(chainKey, Uint8Array.of(2)) };
}

// ---- identity keys (2.1) ------------------------------------------------------------------------

/** An Ed25519 identity {publicKey (32), privateKey (64: seed ‖ public)}; random or from a seed. */
export function identityKeypair(seed) {
  const pair = seed ? sodium.crypto_sign_seed_keypair(seed) : sodium.crypto_sign_keypair();
  return { publicKey: pair.publicKey, privateKey: pair.privateKey };
}

export const edPublicToX = (publicKey) => sodium.crypto_sign_ed25519_pk_to_curve25519(publicKey);
export const edSecretToX = (privateKey) => sodium.crypto_sign_ed25519_sk_to_curve25519(privateKey);
export const sign = (message, privateKey) => sodium.crypto_sign_detached(message, privateKey);

export function verify(signature, message, publicKey) {
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false; // malformed key or signature: not verified
  }
}

/** X25519; libsodium refuses low-order public keys (an all-zero result) by throwing. */
export const x25519 = (privateKey, publicKey) => sodium.crypto_scalarmult(privateKey, publicKey);

// ---- symmetric encryption ----------------------------------------------------------------------

export const aeadEncrypt = (plaintext, ad, nonce, key) =>
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);

/** Throws when the tag does not verify. */
export const aeadDecrypt = (ciphertext, ad, nonce, key) =>
  sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);

export const secretbox = (plaintext, nonce, key) => sodium.crypto_secretbox_easy(plaintext, nonce, key);
export const secretboxOpen = (box, nonce, key) => sodium.crypto_secretbox_open_easy(box, nonce, key);

/** A sealed box to an Ed25519 identity (its X25519 form), 48 bytes of overhead. */
export const sealTo = (plaintext, recipientEdPublic) => sodium.crypto_box_seal(plaintext, edPublicToX(recipientEdPublic));

/** Opens a sealed box with our identity; throws when it was not sealed to us. */
export const openSealed = (box, identity) =>
  sodium.crypto_box_seal_open(box, edPublicToX(identity.publicKey), edSecretToX(identity.privateKey));

export const sha256 = (bytes) => sodium.crypto_hash_sha256(bytes);

export const wipe = (bytes) => bytes && sodium.memzero(bytes);
