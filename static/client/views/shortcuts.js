// Keyboard: Ctrl+K (or Cmd+K) opens the quick switcher; Alt+Up / Alt+Down move to the previous /
// next conversation in the sidebar; the skip links jump over the navigation. (Escape, Up to edit
// and the arrow keys between messages live in the composer and the timeline.)

import { navigate } from "../app.js";
import { h, mount } from "../dom.js";
import { icon } from "../icons.js";
import { store } from "../store.js";
import { decodeMeta } from "../util.js";
import { openModal } from "./modal.js";

/** Every place one can go: server channels (text and voice) and DMs, with a label to match. */
function destinations() {
  const out = [];
  for (const server of store.servers) {
    const serverName = store.serverName(server);
    for (const c of (store.channels.get(server.id) || []).slice().sort((a, b) => a.position - b.position)) {
      out.push({ label: `#${decodeMeta(c.encrypted_meta, "channel").name}`, detail: serverName, hash: `#/channels/${server.id}/${c.id}`, unread: store.unread(c.id) });
    }
  }
  for (const c of store.dms) out.push({ label: store.dmTitle(c), detail: c.channel_type === "group" ? "Group" : "Direct message", hash: `#/channels/@me/${c.id}`, unread: store.unread(c.id) });
  return out;
}

export function openQuickSwitcher() {
  const input = h("input", { type: "search", placeholder: "Where to? A channel, a server or a person", "aria-label": "Search conversations", id: "switcher-input",
    autocomplete: "off", role: "combobox", "aria-controls": "switcher-results", "aria-expanded": "true" });
  const list = h("ul", { class: "switcher-results", id: "switcher-results", role: "listbox" });
  const modal = openModal("Go to a conversation", input, list);
  let matches = [];
  let index = 0;
  const go = (target) => {
    modal.close();
    navigate(target.hash);
  };
  const draw = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    matches = destinations().filter((d) => words.every((w) => `${d.label} ${d.detail}`.toLowerCase().includes(w)))
      .sort((a, b) => Number(b.unread > 0) - Number(a.unread > 0)).slice(0, 12);
    index = Math.min(index, Math.max(0, matches.length - 1));
    mount(list, matches.length ? matches.map((d, i) => h("li", { role: "option", id: `switch-${i}`, class: "switcher-option", "aria-selected": String(i === index),
      onclick: () => go(d) }, h("strong", {}, d.label), h("span", { class: "muted small" }, ` ${d.detail}`), d.unread ? h("span", { class: "badge unread-count" }, String(d.unread)) : null))
      : h("li", { class: "muted" }, "Nothing matches."));
    input.setAttribute("aria-activedescendant", matches.length ? `switch-${index}` : "");
  };
  input.addEventListener("input", () => {
    index = 0;
    draw();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      index = (index + (e.key === "ArrowDown" ? 1 : matches.length - 1)) % Math.max(1, matches.length);
      draw();
    } else if (e.key === "Enter" && matches[index]) {
      e.preventDefault();
      go(matches[index]);
    }
  });
  draw();
  input.focus();
}

/** The conversation before / after the current one in the sidebar's order. */
function step(direction) {
  const links = [...document.querySelectorAll(".sidebar .channel-list a[href^='#/channels/']")];
  if (!links.length) return;
  const current = links.findIndex((a) => a.getAttribute("aria-current") === "page");
  const next = links[(current + direction + links.length) % links.length];
  navigate(next.getAttribute("href"));
}

export function wireShortcuts() {
  const onKey = (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
      e.preventDefault();
      if (!document.querySelector("dialog[open]")) openQuickSwitcher();
    } else if (e.altKey && !e.ctrlKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
      e.preventDefault();
      step(e.key === "ArrowUp" ? -1 : 1);
    }
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

/** Skip links, first in the tab order, shown when focused. */
export function skipLinks() {
  const to = (...selectors) => () => selectors.map((s) => document.querySelector(s)).find(Boolean)?.focus();
  return h("div", { class: "skip-links" },
    h("button", { type: "button", class: "skip-link", id: "skip-to-composer", onclick: to("#composer-input:not([disabled])", "#messages", ".content") }, "Skip to the message box"),
    h("button", { type: "button", class: "skip-link", id: "skip-to-messages", onclick: to("#messages") }, "Skip to the messages"),
    h("button", { type: "button", class: "skip-link", onclick: openQuickSwitcher }, icon("search", 14), " Quick switcher (Ctrl+K)"));
}
