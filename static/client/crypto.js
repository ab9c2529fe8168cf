// Proof of work for registration (operations.md 2.5). Key material is made in e2ee/service.js.

/** Proof of work (operations.md 2.5): SHA-256(challenge + nonce) with `difficulty` leading zero bits. */
export async function solveChallenge(challenge, difficulty) {
  const encoder = new TextEncoder();
  for (let nonce = 0; ; nonce += 1) {
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", encoder.encode(challenge + String(nonce))),
    );
    if (leadingZeroBits(digest) >= difficulty) return String(nonce);
  }
}

function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}
