// Thin wrappers over WebCrypto for the primitives the scheme uses: HKDF-SHA256, AES-256-GCM,
// X25519 and Ed25519. Keys cross module boundaries as raw bytes (Uint8Array) or CryptoKeys.

import { utf8 } from "../util.js";

export async function hkdf(ikm, salt, info, length = 32) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt, info: typeof info === "string" ? utf8(info) : info },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

async function aesKey(raw, usage) {
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [usage]);
}

export async function aesEncrypt(rawKey, iv, plaintext, aad) {
  const key = await aesKey(rawKey, "encrypt");
  const out = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, key, plaintext);
  return new Uint8Array(out);
}

export async function aesDecrypt(rawKey, iv, ciphertext, aad) {
  const key = await aesKey(rawKey, "decrypt");
  const out = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, key, ciphertext);
  return new Uint8Array(out);
}

export async function x25519Generate() {
  const pair = await crypto.subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicRaw };
}

export async function x25519Shared(privateKey, peerPublicRaw) {
  const peer = await crypto.subtle.importKey("raw", peerPublicRaw, { name: "X25519" }, false, []);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256));
}

export async function ed25519Sign(privateKey, data) {
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, data));
}

export async function ed25519Verify(publicRaw, signature, data) {
  try {
    const key = await crypto.subtle.importKey("raw", publicRaw, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, data);
  } catch {
    return false; // a malformed key or signature is simply "not verified"
  }
}
