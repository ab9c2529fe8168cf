// The library's encrypted-profile format (e2ee.md 8.3). Neither the original web client nor this
// one uses it (profile fields go in clear); kept so the format is implemented and tested.

import { concat } from "./bytes.js";
import { aeadDecrypt, aeadEncrypt, openSealed, sealTo } from "./primitives.js";

export function encryptProfile(fieldsJsonBytes, profileKey, rng) {
  const nonce = rng.bytes(24);
  return concat(nonce, aeadEncrypt(fieldsJsonBytes, null, nonce, profileKey));
}

export const decryptProfile = (blob, profileKey) => aeadDecrypt(blob.slice(24), null, blob.slice(0, 24), profileKey);
export const sealProfileKey = (profileKey, recipientIdentityKey) => sealTo(profileKey, recipientIdentityKey);
export const openProfileKey = (box, identity) => openSealed(box, identity);
