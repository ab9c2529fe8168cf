// The GIF picker (api.md 2.25, shown only when the instance has GIF search configured). Results are
// listed by title: their images live on the GIF provider's servers, which this page never loads
// (the CSP allows images from this origin only, and loading them would tell the provider who is
// looking). Picking one sends its URL as a message.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { openModal } from "./modal.js";

export function openGifPicker(onPick) {
  const query = h("input", { type: "search", name: "q", placeholder: "Search GIFs", "aria-label": "Search GIFs", autocomplete: "off" });
  const form = h("form", { class: "row", id: "gif-search" }, query, h("button", { type: "submit", class: "small" }, "Search"));
  const results = h("ul", { class: "gif-results", id: "gif-results", "aria-live": "polite" });
  const modal = openModal("Send a GIF", form, results);
  const show = async (path) => {
    mount(results, h("li", { class: "muted" }, "Loading…"));
    try {
      const { results: list } = await api("GET", path);
      mount(results, list.length ? list.map((gif) => h("li", {},
        h("button", { type: "button", class: "secondary small gif-choice", dataset: { url: gif.url }, onclick: () => {
          modal.close();
          onPick(gif);
        } }, gif.title || "Untitled GIF"))) : h("li", { class: "muted" }, "No GIFs found."));
    } catch (failure) {
      mount(results, h("li", { class: "error", role: "alert" }, failure.message));
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = query.value.trim();
    show(q ? `/gifs/search?q=${encodeURIComponent(q)}` : "/gifs/trending");
  });
  show("/gifs/trending");
  query.focus();
}
