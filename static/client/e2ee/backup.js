// Key backup (e2ee.md 9): the security phrase through Argon2id (t = 3, 64 MiB) gives a secretbox
// key; the plaintext is the version-1 JSON the original writes and restores.

import { b64, fromUtf8, unb64, utf8 } from "./bytes.js";
import { secretbox, secretboxOpen } from "./primitives.js";
import { sodium } from "./sodium.js";

export const OPSLIMIT = 3;
export const MEMLIMIT = 67108864;
export const MIN_PHRASE = 8;

/** crypto_pwhash(32, phrase as typed (UTF-8, no normalisation), salt, 3, 64 MiB, Argon2id13). */
export const deriveKey = (phrase, salt) =>
  sodium.crypto_pwhash(32, utf8(phrase), salt, OPSLIMIT, MEMLIMIT, sodium.crypto_pwhash_ALG_ARGON2ID13);

/** The PUT /keys/backup body for a plaintext JSON text (salt drawn first, then the nonce). */
export function seal(plaintextJson, phrase, rng) {
  const salt = rng.bytes(16);
  const nonce = rng.bytes(24);
  const key = deriveKey(phrase, salt);
  return { encrypted_data: b64(secretbox(utf8(plaintextJson), nonce, key)), nonce: b64(nonce), salt: b64(salt), version: 1 };
}

/**
 * Opens a backup (GET /keys/backup) with a phrase, trimmed as the original does on restore.
 * Returns the plaintext JSON text; throws "Wrong security phrase" when it does not open.
 */
export const open = (backup, phrase) => openWithKey(backup, deriveKey(phrase.trim(), unb64(backup.salt, 16)));

/** Opens a backup with an already derived key (throws "Wrong security phrase"). */
export function openWithKey(backup, key) {
  let plaintext;
  try {
    plaintext = secretboxOpen(unb64(backup.encrypted_data), unb64(backup.nonce, 24), key);
  } catch {
    throw new Error("Wrong security phrase");
  }
  return fromUtf8(plaintext);
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** A recovery key (9.2): 20 random bytes in RFC 4648 base32, 8 groups of 4 joined by "-". */
export function recoveryKey(rng) {
  const bytes = rng.bytes(20);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g).join("-");
}
