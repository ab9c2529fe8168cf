// Safety numbers (e2ee.md 10): SHA-256 of the two identity keys in byte order, read as 12 groups
// of 5 digits. Both sides get the same number.

import { concat } from "./bytes.js";
import { sha256 } from "./primitives.js";

function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function safetyNumber(keyA, keyB) {
  const [first, second] = compare(keyA, keyB) <= 0 ? [keyA, keyB] : [keyB, keyA];
  const hash = sha256(concat(first, second));
  const groups = [];
  for (let j = 0; j < 6; j += 1) {
    const [b0, b1, b2, b3, b4] = hash.subarray(5 * j, 5 * j + 5);
    const v1 = ((b0 << 12) | (b1 << 4) | (b2 >> 4)) % 100000;
    const v2 = (((b2 & 0x0f) << 16) | (b3 << 8) | b4) % 100000;
    groups.push(String(v1).padStart(5, "0"), String(v2).padStart(5, "0"));
  }
  return { hash, groups, digits: groups.join("") };
}
