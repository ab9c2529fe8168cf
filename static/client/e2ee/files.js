// Attachment encryption (e2ee.md 7): each file is one crypto_secretbox under a fresh random key and
// nonce, which travel inside the encrypted message as an AttachmentMeta (6.2).

import { b64, unb64 } from "./bytes.js";
import { secretbox, secretboxOpen } from "./primitives.js";

/** Returns {blob: MAC ‖ ciphertext (file + 16 bytes), key, nonce}; key first, then nonce. */
export function encryptFile(bytes, rng) {
  const key = rng.bytes(32);
  const nonce = rng.bytes(24);
  return { blob: secretbox(bytes, nonce, key), key, nonce };
}

/** Throws when the blob was altered or the key is wrong. */
export const decryptFile = (blob, key, nonce) => secretboxOpen(blob, nonce, key);

/** AttachmentMeta in the original's key order. */
export function attachmentMeta({ id, filename, mimeType, size, key, nonce, thumbnail, width, height, spoiler }) {
  const meta = { id, filename, mime_type: mimeType || "application/octet-stream", size, key: b64(key), nonce: b64(nonce) };
  if (thumbnail) {
    meta.thumbnail = thumbnail;
    meta.width = width;
    meta.height = height;
  }
  if (spoiler) meta.spoiler = true;
  return meta;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A received AttachmentMeta, validated ({..., key, nonce} as bytes), or null when malformed. */
export function readAttachmentMeta(meta) {
  try {
    if (!meta || !UUID.test(meta.id) || typeof meta.filename !== "string") return null;
    if (!Number.isSafeInteger(meta.size) || meta.size < 0) return null;
    const out = {
      id: meta.id.toLowerCase(),
      filename: meta.filename.slice(0, 255),
      mimeType: typeof meta.mime_type === "string" ? meta.mime_type.slice(0, 127) : "application/octet-stream",
      size: meta.size,
      key: unb64(meta.key, 32),
      nonce: unb64(meta.nonce, 24),
      spoiler: meta.spoiler === true,
    };
    if (typeof meta.thumbnail === "string" && /^data:image\/(jpeg|png|webp|gif);base64,/.test(meta.thumbnail)) {
      out.thumbnail = meta.thumbnail;
      out.width = Number.isSafeInteger(meta.width) ? meta.width : null;
      out.height = Number.isSafeInteger(meta.height) ? meta.height : null;
    }
    return out;
  } catch {
    return null;
  }
}
