// Phones (app.css, up to 600 px wide) show one pane at a time: the conversation, or the
// servers-and-channels drawer from the left, or the members drawer from the right, over a scrim.
// The buttons that open them sit in each page's header; a route change closes them.

import { h } from "../dom.js";
import { icon } from "../icons.js";

const shellElement = () => document.querySelector(".shell");

export function openNav() {
  shellElement()?.classList.add("nav-open");
  document.querySelector(".shell .rail a, .shell .rail button")?.focus();
}

export function closeDrawers() {
  shellElement()?.classList.remove("nav-open", "members-open");
}

export function toggleMembers() {
  shellElement()?.classList.toggle("members-open");
}

/** The header button that opens the servers-and-channels drawer (shown on phones only). */
export function navToggle() {
  return h("button", { type: "button", class: "icon-button nav-toggle", id: "nav-toggle", "aria-label": "Servers and channels", onclick: openNav }, icon("menu", 22));
}

/** The scrim behind an open drawer: a tap (or Escape) closes it. */
export function scrim() {
  return h("button", { type: "button", class: "scrim", "aria-label": "Close the menu", tabindex: "-1", onclick: closeDrawers });
}
