// Haven's browser client: a small single-page app without a build step (CSP: script-src 'self').
// Routes: #/login, #/register, #/settings, #/channels/@me[/<dm>], #/channels/<server>[/<channel>].
// An invite link (/invite/<code>, served by the same page) is remembered until the user is signed
// in, then offered as "Join a server".

import { authEvents, session } from "./api.js";
import { mount } from "./dom.js";
import { store } from "./store.js";
import { renderAuth } from "./views/auth.js";
import { renderSettings } from "./views/settings.js";
import { renderShell, resetShell } from "./views/shell.js";

const root = document.getElementById("app");
const INVITE_KEY = "haven.pendingInvite";

/** The invite code of the link this page was opened from, kept for after sign-in. */
function rememberInvite() {
  const match = /^\/invite\/([^/]+)\/?$/.exec(location.pathname);
  if (!match) return;
  sessionStorage.setItem(INVITE_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, "", `/${location.hash || "#/"}`);
}

/** The invite waiting to be offered (read once). */
export function takePendingInvite() {
  const code = sessionStorage.getItem(INVITE_KEY);
  sessionStorage.removeItem(INVITE_KEY);
  return code;
}

export const pendingInvite = () => sessionStorage.getItem(INVITE_KEY);

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** Sign-out (or a dead session): stop realtime, forget in-memory state, show the sign-in form. */
export function signedOut() {
  resetShell();
  store.stop();
  root.classList.remove("app-root");
}

function route() {
  const signedIn = Boolean(session.load());
  let hash = location.hash || "#/";
  if (!signedIn && !["#/login", "#/register"].includes(hash)) hash = "#/login";
  if (signedIn && ["#/login", "#/register", "#/"].includes(hash)) hash = "#/channels/@me";
  if (location.hash !== hash) history.replaceState(null, "", hash);
  if (!signedIn && store.started) signedOut();

  const channels = /^#\/channels\/([^/]+)(?:\/([^/]+))?$/.exec(hash);
  if (channels) {
    renderShell(root, { serverId: channels[1], channelId: channels[2] || null });
    return;
  }
  resetShell();
  root.classList.remove("app-root");
  mount(root);
  if (hash === "#/login") renderAuth(root, "login");
  else if (hash === "#/register") renderAuth(root, "register");
  else renderSettings(root);
}

// The session ended under the page (signed out on another device, password changed elsewhere,
// suspended or asked for a new password by an admin): leave the app for the sign-in form instead
// of keeping a dead socket. Signing in says why, when it was an admin.
authEvents.addEventListener("expired", (event) => {
  if (!store.started) return;
  const notice = event.detail?.code === "account_suspended" ? `Your account was suspended: ${event.detail.data.reason || "no reason given"}.`
    : "You were signed out (on another device, or your session ended). Sign in again.";
  sessionStorage.setItem("haven.signedOutNotice", notice);
  signedOut();
  navigate("#/login");
});

rememberInvite();
window.addEventListener("hashchange", route);
route();
