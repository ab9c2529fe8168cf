// The user panel under the channel list: who I am (the name gets the whole width: the link state
// and the status sit on the line under it), my status (a menu from the avatar), and Settings.

import { h, mount } from "../dom.js";
import { icon } from "../icons.js";
import { avatar } from "../media.js";
import { store } from "../store.js";

const STATUSES = [
  ["online", "Online"],
  ["idle", "Idle"],
  ["dnd", "Do not disturb"],
  ["invisible", "Invisible"],
];

export function renderPanel(container) {
  const me = store.me;
  const live = store.realtime?.live;
  const replaced = store.crypto?.status === "replaced";
  const label = STATUSES.find(([value]) => value === store.status)?.[1] || "Online";
  const menu = h("ul", { class: "menu status-menu", role: "menu", hidden: true, id: "status-menu" },
    STATUSES.map(([value, text]) => h("li", { role: "none" }, h("button", { type: "button", role: "menuitemradio", "aria-checked": String(store.status === value), dataset: { status: value },
      onclick: () => store.setStatus(value) }, h("span", { class: `presence-dot ${value}`, "aria-hidden": "true" }), ` ${text}`))));
  const button = h("button", { type: "button", class: "me-button", id: "status-button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": `Status: ${label}`, title: `Status: ${label}` },
    h("span", { class: "me-avatar" }, avatar({ userId: me.id, name: me.display_name || me.username, url: me.avatar_url, size: 32 }),
      h("span", { class: `presence-dot ${store.status}`, "aria-hidden": "true" })));
  const show = (open) => {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) menu.querySelector("[aria-checked=true]")?.focus();
  };
  button.addEventListener("click", () => show(menu.hidden));
  menu.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    show(false);
    button.focus();
  });
  mount(container,
    h("div", { class: "menu-wrap" }, button, menu),
    h("div", { class: "who", title: `${me.display_name || me.username} (@${me.username})` },
      h("strong", { id: "me-name" }, me.display_name || me.username),
      h("span", { class: "muted small" }, replaced
        ? h("span", { class: "link-state keys-replaced", title: "This browser's encryption keys were replaced in another browser", id: "link-state" }, "keys replaced")
        : h("span", { class: `link-state ${live ? "live" : "polling"}`, title: live ? "Live updates" : "Live updates unavailable; refreshing every few seconds", id: "link-state" }, live ? "live" : "polling"),
      ` · ${label}`)),
    h("a", { href: "#/settings", class: "icon-button", title: "Settings", "aria-label": "Settings", id: "settings-link" }, icon("gear", 20)));
}
