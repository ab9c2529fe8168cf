// Haven's browser client: a small single-page app without a build step (CSP: script-src 'self').
// Routes: #/login, #/register, #/settings, #/channels/@me[/<dm>], #/channels/<server>[/<channel>].

import { session } from "./api.js";
import { mount } from "./dom.js";
import { store } from "./store.js";
import { renderAuth } from "./views/auth.js";
import { renderSettings } from "./views/settings.js";
import { renderShell, resetShell } from "./views/shell.js";

const root = document.getElementById("app");

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

window.addEventListener("hashchange", route);
route();
