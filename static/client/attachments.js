// Attachments: encrypt and upload a picked file, describe it inside the encrypted message, and
// download + decrypt it for a reader (a save, or an inline image preview via a blob: URL).

import { apiFetch, apiUpload } from "./api.js";
import { decryptStream, encryptFile, sniffImage } from "./e2ee/attachment.js";
import { fromB64, toB64 } from "./util.js";

export const MAX_FILES = 10;
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];
const PREVIEW_MAX_BYTES = 20 * 1024 * 1024; // larger images are offered as a download only
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Encrypts and uploads one file. Returns the entry that goes inside the encrypted message:
 * {id, name, type, size, key}. `onProgress(fraction, phase)` with phase "encrypting"/"uploading".
 */
export async function uploadFile(file, onProgress) {
  const { blob, key } = await encryptFile(file, { onProgress: (done, total) => onProgress?.(total ? done / total : 1, "encrypting") });
  const answer = await apiUpload("/attachments/upload", blob, {
    onProgress: (sent, total) => onProgress?.(total ? sent / total : 1, "uploading"),
  });
  return {
    id: answer.attachment_id,
    name: (file.name || "file").slice(0, 200),
    type: (file.type || "application/octet-stream").slice(0, 100),
    size: file.size,
    key: toB64(key),
  };
}

/** The attachment entries of decrypted content that are well formed (others are dropped). */
export function attachmentsOf(content) {
  if (!Array.isArray(content?.attachments)) return [];
  return content.attachments.slice(0, MAX_FILES).filter((a) => {
    try {
      return a && UUID.test(a.id) && typeof a.name === "string" && typeof a.type === "string" &&
        Number.isSafeInteger(a.size) && a.size >= 0 && fromB64(a.key).length === 32;
    } catch {
      return false;
    }
  });
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

/** Downloads and decrypts an attachment: a Blob of the plaintext. */
export async function fetchPlaintext(attachment, onProgress) {
  const response = await apiFetch(`/attachments/${attachment.id}`);
  return decryptStream(response.body, fromB64(attachment.key), { expectedSize: attachment.size, type: "application/octet-stream", onProgress });
}

/** Decrypts and hands the file to the browser's download (its name from the encrypted body). */
export async function saveAttachment(attachment, onProgress) {
  const blob = await fetchPlaintext(attachment, onProgress);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = attachment.name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_") || "file";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const isPreviewable = (a) => IMAGE_TYPES.includes(a.type) && a.size <= PREVIEW_MAX_BYTES;

// Decrypted previews, kept for the page's lifetime (bounded; the oldest URL is revoked).
const previews = new Map(); // "id:key" -> Promise<string | null>
const resolved = new Map(); // "id:key" -> blob: URL, once decrypted (drawn without waiting)
const PREVIEW_CACHE = 60;

export const resolvedPreview = (attachment) => resolved.get(`${attachment.id}:${attachment.key}`) || null;

/** A blob: URL of the decrypted image, or null when it is not really one of the four formats. */
export function previewUrl(attachment) {
  const cacheKey = `${attachment.id}:${attachment.key}`;
  if (!previews.has(cacheKey)) {
    const promise = (async () => {
      const plain = await fetchPlaintext(attachment);
      const type = await sniffImage(plain); // trust the bytes, not the declared type
      const url = type ? URL.createObjectURL(plain.slice(0, plain.size, type)) : null;
      if (url) resolved.set(cacheKey, url);
      return url;
    })();
    previews.set(cacheKey, promise);
    promise.catch(() => previews.delete(cacheKey));
    if (previews.size > PREVIEW_CACHE) {
      const [oldest, value] = previews.entries().next().value;
      previews.delete(oldest);
      resolved.delete(oldest);
      value.then((url) => url && URL.revokeObjectURL(url), () => {});
    }
  }
  return previews.get(cacheKey);
}
