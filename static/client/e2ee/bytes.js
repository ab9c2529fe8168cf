// Byte helpers for the wire formats (e2ee.md 1.3): standard padded base64 decoded strictly (as the
// original's libsodium decoder does), u32 little-endian, UUID text <-> 16 bytes, hex.

import { sodium } from "./sodium.js";

const ORIGINAL = sodium.base64_variants.ORIGINAL;

export const b64 = (bytes) => sodium.to_base64(bytes, ORIGINAL);

/** Strict: missing padding, whitespace, URL-safe characters or stray bits throw. */
export function unb64(text, expectedLength) {
  if (typeof text !== "string") throw new Error("not base64");
  const bytes = sodium.from_base64(text, ORIGINAL);
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new Error(`expected ${expectedLength} bytes, got ${bytes.length}`);
  }
  return bytes;
}

export const hex = (bytes) => sodium.to_hex(bytes);
export const utf8 = (text) => new TextEncoder().encode(text);
export const fromUtf8 = (bytes) => new TextDecoder("utf-8", { fatal: true }).decode(bytes);

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u32le(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}

export const readU32le = (bytes, offset) =>
  new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0, true);

/** Constant-time equality for equal lengths (libsodium's memcmp). */
export const equal = (a, b) => a.length === b.length && (a.length === 0 || sodium.memcmp(a, b));

/** Lowercase hyphenated 8-4-4-4-12 text of 16 bytes (any bytes: version bits do not matter). */
export function uuidText(bytes) {
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidBytes(text) {
  const h = String(text).replace(/-/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new Error(`not a UUID: ${text}`);
  return sodium.from_hex(h.toLowerCase());
}
