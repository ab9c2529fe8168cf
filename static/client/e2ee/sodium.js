// libsodium (the vendored libsodium-wrappers-sumo, the build the original clients use), ready to
// call, plus the randomness every protocol function takes as a parameter: production code uses
// libsodium's, the known-answer tests replay the values the original consumed.

import sodium from "../vendor/libsodium-wrappers-sumo.esm.js";

await sodium.ready;

export { sodium };

/** Randomness from libsodium: `bytes(n)` (randombytes_buf) and `keypair()` (crypto_box_keypair). */
export const systemRandom = {
  bytes: (n) => sodium.randombytes_buf(n),
  keypair: () => {
    const pair = sodium.crypto_box_keypair();
    return { publicKey: pair.publicKey, privateKey: pair.privateKey };
  },
};
