// Key material for end-to-end encryption, made in the browser: the server only ever receives
// public keys. Identity: Ed25519; prekeys: X25519 (WebCrypto). Private keys stay on this device.

const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));

async function exportPair(pair) {
  return {
    public: b64(await crypto.subtle.exportKey("raw", pair.publicKey)),
    private: b64(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
  };
}

export async function generateRegistrationKeys(oneTimeCount = 20) {
  const identity = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const signed = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const signedPublic = await crypto.subtle.exportKey("raw", signed.publicKey);
  const signature = await crypto.subtle.sign({ name: "Ed25519" }, identity.privateKey, signedPublic);
  const oneTime = [];
  for (let i = 0; i < oneTimeCount; i += 1) {
    oneTime.push(await exportPair(await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"])));
  }
  const identityExport = await exportPair(identity);
  const signedExport = await exportPair(signed);
  return {
    request: {
      identity_key: identityExport.public,
      signed_prekey: signedExport.public,
      signed_prekey_signature: b64(signature),
      one_time_prekeys: oneTime.map((k) => k.public),
    },
    secrets: { identity: identityExport, signedPrekey: signedExport, oneTimePrekeys: oneTime },
  };
}

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

export function storeDeviceSecrets(userId, secrets) {
  localStorage.setItem(`haven.keys.${userId}`, JSON.stringify(secrets));
}
