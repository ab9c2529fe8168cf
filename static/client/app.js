// Haven's browser client: a small single-page app without a build step (CSP: script-src 'self').

import { session } from "./api.js";
import { mount } from "./dom.js";
import { renderAuth } from "./views/auth.js";
import { renderSettings } from "./views/settings.js";

const root = document.getElementById("app");

const routes = {
  "#/login": () => renderAuth(root, "login"),
  "#/register": () => renderAuth(root, "register"),
  "#/settings": () => renderSettings(root),
};

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function route() {
  const signedIn = Boolean(session.load());
  let hash = location.hash || "#/";
  if (!signedIn && !["#/login", "#/register"].includes(hash)) hash = "#/login";
  if (signedIn && ["#/login", "#/register", "#/"].includes(hash)) hash = "#/settings";
  const view = routes[hash] || routes["#/settings"];
  if (location.hash !== hash) history.replaceState(null, "", hash);
  mount(root);
  view();
}

window.addEventListener("hashchange", route);
route();
