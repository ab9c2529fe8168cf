// This device's private keys and what it remembers about other people's keys. Everything lives
// in localStorage under the signed-in user's id and never leaves the browser.
//
//   haven.keys.<me>   identity (Ed25519) and signed prekey (X25519), written at registration by
//                     crypto.js or here when a new device signs in
//   haven.trust.<me>  identity keys seen for other users (trust on first use)

import { api } from "../api.js";
import { generateRegistrationKeys, storeDeviceSecrets } from "../crypto.js";
import { fromB64 } from "../util.js";

const cache = new Map();

function readJson(key) {
  try {
    return JSON.parse(localStorage.getItem(key)) || null;
  } catch {
    return null;
  }
}

async function importSecrets(secrets) {
  const identityPrivate = await crypto.subtle.importKey(
    "pkcs8", fromB64(secrets.identity.private), { name: "Ed25519" }, false, ["sign"],
  );
  const prekeyPrivate = await crypto.subtle.importKey(
    "pkcs8", fromB64(secrets.signedPrekey.private), { name: "X25519" }, false, ["deriveBits"],
  );
  return {
    identityPrivate,
    identityPublic: fromB64(secrets.identity.public),
    prekeyPrivate,
    prekeyPublic: fromB64(secrets.signedPrekey.public),
  };
}

/**
 * The device keys of `userId`. A browser that never registered this account (a new device, or
 * cleared storage) makes fresh keys and publishes them: the server then drops every sender key
 * sealed to the old identity, so history sent before stays unreadable here (documented limit).
 */
export async function deviceKeys(userId) {
  if (cache.has(userId)) return cache.get(userId);
  const promise = (async () => {
    let secrets = readJson(`haven.keys.${userId}`);
    if (!secrets?.identity?.private || !secrets?.signedPrekey?.private) {
      const fresh = await generateRegistrationKeys(20);
      await api("PUT", "/keys/identity", {
        identity_key: fresh.request.identity_key,
        signed_prekey: fresh.request.signed_prekey,
        signed_prekey_signature: fresh.request.signed_prekey_signature,
      });
      await api("DELETE", "/keys/prekeys");
      await api("POST", "/keys/prekeys", { prekeys: fresh.request.one_time_prekeys });
      storeDeviceSecrets(userId, fresh.secrets);
      secrets = fresh.secrets;
    }
    return importSecrets(secrets);
  })();
  cache.set(userId, promise);
  promise.catch(() => cache.delete(userId));
  return promise;
}

/**
 * Trust on first use: remembers the first identity key seen for each user and reports a change
 * ("changed") so the interface can warn. Keys are compared as base64 text.
 */
export function checkTrust(me, userId, identityKeyB64) {
  const key = `haven.trust.${me}`;
  const trust = readJson(key) || {};
  const known = trust[userId];
  if (known === identityKeyB64) return "same";
  trust[userId] = identityKeyB64;
  localStorage.setItem(key, JSON.stringify(trust));
  return known ? "changed" : "new";
}

export function forgetDevice(userId) {
  cache.delete(userId);
}
