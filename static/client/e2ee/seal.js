// Sealed boxes to a user's signed prekey: ephemeral-static X25519, HKDF-SHA256, AES-256-GCM.
// Used to hand a sender key to one reader. Only the holder of the prekey's private half (one
// device) can open it; the server sees the blob, the recipient id and nothing else.
//
//   blob = 0x01 | ephemeral public key (32) | iv (12) | AES-GCM ciphertext+tag
//   key  = HKDF(ikm = X25519(ephemeral, prekey), salt = ephemeral_pub | prekey_pub,
//               info = "haven-seal-v1")
//   aad  = caller-supplied context (channel, sender and recipient ids) so a box cannot be
//          replayed into another channel or to another person.

import { concat, randomBytes } from "../util.js";
import { aesDecrypt, aesEncrypt, hkdf, x25519Generate, x25519Shared } from "./primitives.js";

const VERSION = 1;

export async function seal(prekeyPublicRaw, plaintext, aad) {
  const ephemeral = await x25519Generate();
  const shared = await x25519Shared(ephemeral.privateKey, prekeyPublicRaw);
  const key = await hkdf(shared, concat(ephemeral.publicRaw, prekeyPublicRaw), "haven-seal-v1");
  const iv = randomBytes(12);
  const ciphertext = await aesEncrypt(key, iv, plaintext, aad);
  return concat(new Uint8Array([VERSION]), ephemeral.publicRaw, iv, ciphertext);
}

export async function open(prekeyPrivate, prekeyPublicRaw, blob, aad) {
  if (blob.length < 1 + 32 + 12 + 16 || blob[0] !== VERSION) throw new Error("unknown box format");
  const ephemeralPublic = blob.subarray(1, 33);
  const iv = blob.subarray(33, 45);
  const shared = await x25519Shared(prekeyPrivate, ephemeralPublic);
  const key = await hkdf(shared, concat(ephemeralPublic, prekeyPublicRaw), "haven-seal-v1");
  return aesDecrypt(key, iv, blob.subarray(45), aad);
}
