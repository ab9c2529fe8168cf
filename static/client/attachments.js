// Attachments (e2ee.md 7): each file is sealed in the browser with its own random key
// (crypto_secretbox), uploaded as ciphertext, and described inside the encrypted message by an
// AttachmentMeta (name, type, size, key, nonce). Readers download, open and save or preview it.

import { apiFetch, apiUpload } from "./api.js";
import { attachmentMeta, decryptFile, encryptFile, readAttachmentMeta } from "./e2ee/files.js";
import { systemRandom } from "./e2ee/sodium.js";

export const MAX_FILES = 10;
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const PREVIEW_MAX_BYTES = 20 * 1024 * 1024; // larger images are offered as a download only

/**
 * Encrypts and uploads one file; returns its AttachmentMeta (what goes inside the encrypted
 * message). `onProgress(fraction, phase)` with phase "encrypting"/"uploading".
 */
export async function uploadFile(file, onProgress) {
  onProgress?.(0, "encrypting");
  const sealed = encryptFile(new Uint8Array(await file.arrayBuffer()), systemRandom);
  onProgress?.(1, "encrypting");
  const answer = await apiUpload("/attachments/upload", new Blob([sealed.blob]), {
    onProgress: (sent, total) => onProgress?.(total ? sent / total : 1, "uploading"),
  });
  return attachmentMeta({
    id: answer.attachment_id,
    filename: (file.name || "file").slice(0, 255),
    mimeType: (file.type || "application/octet-stream").slice(0, 127),
    size: file.size,
    key: sealed.key,
    nonce: sealed.nonce,
  });
}

/** The well-formed attachments of decrypted content ({id, filename, mimeType, size, key, nonce, ...}). */
export function attachmentsOf(content) {
  if (!Array.isArray(content?.attachments)) return [];
  return content.attachments.slice(0, MAX_FILES).map(readAttachmentMeta).filter(Boolean);
}

export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Downloads and opens an attachment: a Blob of the plaintext (throws if it was altered). */
export async function fetchPlaintext(attachment, onProgress) {
  const response = await apiFetch(`/attachments/${attachment.id}`);
  const blob = new Uint8Array(await response.arrayBuffer());
  onProgress?.(blob.length, blob.length);
  const plain = decryptFile(blob, attachment.key, attachment.nonce);
  if (plain.length !== attachment.size) throw new Error("The attachment's size does not match");
  return new Blob([plain], { type: "application/octet-stream" });
}

/** Opens and hands the file to the browser's download (its name from the encrypted message). */
export async function saveAttachment(attachment, onProgress) {
  const blob = await fetchPlaintext(attachment, onProgress);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = attachment.filename.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_") || "file";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const isPreviewable = (a) => IMAGE_TYPES.includes(a.mimeType) && a.size <= PREVIEW_MAX_BYTES;

/** The image type named by the first bytes (only these four are ever shown inline). */
export async function sniffImage(blob) {
  const b = new Uint8Array(await blob.slice(0, 12).arrayBuffer());
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return "image/gif";
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return "image/webp";
  return null;
}

// Decrypted previews, kept for the page's lifetime (bounded; the oldest URL is revoked).
const previews = new Map(); // "id:key" -> Promise<string | null>
const resolved = new Map(); // "id:key" -> blob: URL, once decrypted (drawn without waiting)
const PREVIEW_CACHE = 60;
const cacheKey = (a) => `${a.id}:${Array.from(a.key.subarray(0, 8)).join(".")}`;

export const resolvedPreview = (attachment) => resolved.get(cacheKey(attachment)) || null;

/** A blob: URL of the decrypted image, or null when it is not really one of the four formats. */
export function previewUrl(attachment) {
  const key = cacheKey(attachment);
  if (!previews.has(key)) {
    const promise = (async () => {
      const plain = await fetchPlaintext(attachment);
      const type = await sniffImage(plain); // trust the bytes, not the declared type
      const url = type ? URL.createObjectURL(plain.slice(0, plain.size, type)) : null;
      if (url) resolved.set(key, url);
      return url;
    })();
    previews.set(key, promise);
    promise.catch(() => previews.delete(key));
    if (previews.size > PREVIEW_CACHE) {
      const [oldest, value] = previews.entries().next().value;
      previews.delete(oldest);
      resolved.delete(oldest);
      value.then((url) => url && URL.revokeObjectURL(url), () => {});
    }
  }
  return previews.get(key);
}
