// The emoji picker (composer and reactions): a search box, the server's custom emojis, then the
// Unicode set by category. `onPick({char} | {custom})` gets the choice; the dialog closes.

import { h, mount } from "../dom.js";
import { CATEGORIES, searchEmojis } from "../emoji-data.js";
import { emojiImage } from "../media.js";
import { openModal } from "./modal.js";

export function openEmojiPicker({ title = "Pick an emoji", custom = [], onPick }) {
  const query = h("input", { type: "search", placeholder: "Search emojis", "aria-label": "Search emojis", autocomplete: "off", id: "emoji-search" });
  const grid = h("div", { class: "emoji-grid", id: "emoji-grid" });
  const modal = openModal(title, query, grid);
  modal.dialog.classList.add("emoji-dialog");
  // After the dialog has closed (and returned focus to its opener): the choice may move focus on.
  const pick = (choice) => {
    modal.dialog.addEventListener("close", () => onPick(choice), { once: true });
    modal.close();
  };
  const unicodeButton = (emoji) => h("button", { type: "button", class: "emoji-choice", "aria-label": emoji.names.split(" ")[0], title: emoji.names.split(" ")[0], dataset: { emoji: emoji.char },
    onclick: () => pick({ char: emoji.char }) }, emoji.char);
  const customButton = (emoji) => h("button", { type: "button", class: "emoji-choice", "aria-label": `:${emoji.name}:`, title: `:${emoji.name}:`, dataset: { emojiId: emoji.id },
    onclick: () => pick({ custom: emoji }) }, emojiImage(emoji, "emoji"));
  const section = (name, buttons) => (buttons.length ? h("section", { class: "emoji-section" }, h("h3", { class: "muted small" }, name), h("div", { class: "emoji-row" }, buttons)) : null);
  const draw = () => {
    const q = query.value.trim().toLowerCase();
    if (q) {
      const mine = custom.filter((e) => e.name.toLowerCase().includes(q)).map(customButton);
      const found = searchEmojis(q).map(unicodeButton);
      mount(grid, mine.length || found.length ? section("Results", [...mine, ...found]) : h("p", { class: "muted" }, "No emoji matches."));
      return;
    }
    mount(grid, section("This server", custom.map(customButton)), CATEGORIES.map((c) => section(c.name, c.emojis.map(unicodeButton))));
  };
  query.addEventListener("input", draw);
  // Enter picks the first result: type a name, press Enter.
  query.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    grid.querySelector(".emoji-choice")?.click();
  });
  draw();
  query.focus();
  return modal;
}
