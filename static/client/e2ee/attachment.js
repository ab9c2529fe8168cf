// End-to-end encryption of attachments (docs/client.md, "Attachments"). Each file gets a fresh
// random AES-256-GCM key that travels only inside the (sender-key encrypted, signed) message body.
// The file is sealed in 1 MiB chunks, so neither side ever holds more than one chunk of work in
// JavaScript memory; the pieces are joined as Blobs, which the browser may keep on disk.
//
//   blob    = header | chunk_0 | chunk_1 | ... | chunk_{n-1}
//   header  = "HVNATT01" (8 bytes) | chunk size S (uint32 BE)
//   chunk_i = AES-256-GCM(K, nonce_i, plaintext_i, aad_i)    (ciphertext with its 16-byte tag)
//   nonce_i = 4 zero bytes | i (uint64 BE)                    (K is used for this one file only)
//   aad_i   = "haven-att-v1" | header | i (uint64 BE) | final (1 byte: 1 for the last chunk)
//
// Every chunk holds exactly S plaintext bytes except the last (0..S bytes; an empty file is one
// empty final chunk). The index and the final flag in the associated data stop chunks from being
// reordered, dropped, or the file from being cut at a chunk boundary.

import { concat, randomBytes, utf8 } from "../util.js";

const MAGIC = utf8("HVNATT01");
const AAD_LABEL = utf8("haven-att-v1");
const HEADER_BYTES = 12;
const TAG_BYTES = 16;
export const CHUNK_BYTES = 1024 * 1024;
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

function u64(i) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(i));
  return out;
}

const nonce = (i) => concat(new Uint8Array(4), u64(i));
const aad = (header, i, final) => concat(AAD_LABEL, header, u64(i), Uint8Array.of(final ? 1 : 0));

function header(chunkBytes) {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(8, chunkBytes);
  return out;
}

const importKey = (raw, usage) => crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [usage]);

/**
 * Encrypts a File/Blob. Returns {blob: the ciphertext to upload, key: the 32 raw key bytes}.
 * `onProgress(doneBytes, totalBytes)` is called after each chunk.
 */
export async function encryptFile(file, { chunkBytes = CHUNK_BYTES, onProgress } = {}) {
  const rawKey = randomBytes(32);
  const key = await importKey(rawKey, "encrypt");
  const head = header(chunkBytes);
  const count = Math.max(1, Math.ceil(file.size / chunkBytes));
  let blob = new Blob([head]);
  for (let i = 0; i < count; i += 1) {
    const start = i * chunkBytes;
    const plaintext = new Uint8Array(await file.slice(start, Math.min(file.size, start + chunkBytes)).arrayBuffer());
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce(i), additionalData: aad(head, i, i === count - 1) },
      key,
      plaintext,
    );
    blob = new Blob([blob, sealed]); // composes without copying the earlier parts
    onProgress?.(Math.min(file.size, start + chunkBytes), file.size);
  }
  return { blob, key: rawKey };
}

/** Ciphertext size for a plaintext of `size` bytes (what the upload will weigh). */
export function sealedSize(size, chunkBytes = CHUNK_BYTES) {
  return HEADER_BYTES + Math.max(1, Math.ceil(size / chunkBytes)) * TAG_BYTES + size;
}

/**
 * Decrypts a download as it streams in (`response.body`), chunk by chunk. Resolves a Blob of the
 * plaintext with the given MIME type; rejects if anything was changed, cut or appended, or if the
 * plaintext length differs from `expectedSize` (the signed size in the message).
 */
export async function decryptStream(stream, rawKey, { expectedSize, type = "application/octet-stream", onProgress } = {}) {
  const key = await importKey(rawKey, "decrypt");
  const reader = stream.getReader();
  let head = null;
  let headFill = new Uint8Array(0);
  let buffer = null; // the chunk being filled
  let fill = 0;
  let index = 0;
  let done = 0;
  let out = new Blob([]);
  const open = async (bytes, final) => {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce(index), additionalData: aad(head, index, final) },
      key,
      bytes,
    );
    out = new Blob([out, plain]);
    done += plain.byteLength;
    index += 1;
    onProgress?.(done, expectedSize);
  };
  for (;;) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    let data = value;
    if (!head) {
      headFill = concat(headFill, data);
      if (headFill.length < HEADER_BYTES) continue;
      head = headFill.slice(0, HEADER_BYTES);
      data = headFill.subarray(HEADER_BYTES);
      const magicOk = MAGIC.every((b, i) => head[i] === b);
      const size = new DataView(head.buffer).getUint32(8);
      if (!magicOk || size < 1 || size > MAX_CHUNK_BYTES) throw new Error("Not an encrypted Haven attachment");
      buffer = new Uint8Array(size + TAG_BYTES);
    }
    while (data.length) {
      if (fill === buffer.length) {
        // A full chunk followed by more bytes: it was not the last one.
        await open(buffer, false);
        buffer = new Uint8Array(buffer.length);
        fill = 0;
      }
      const take = Math.min(data.length, buffer.length - fill);
      buffer.set(data.subarray(0, take), fill);
      fill += take;
      data = data.subarray(take);
    }
  }
  if (!head || fill < TAG_BYTES) throw new Error("The attachment is incomplete");
  await open(buffer.subarray(0, fill), true);
  if (expectedSize !== undefined && done !== expectedSize) throw new Error("The attachment's size does not match");
  return out.slice(0, out.size, type);
}

/** The image type named by the first bytes (only these four are ever shown inline). */
export async function sniffImage(blob) {
  const b = new Uint8Array(await blob.slice(0, 12).arrayBuffer());
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return "image/gif";
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return "image/webp";
  return null;
}
