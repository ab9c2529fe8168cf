// Accessible dialogs on the native <dialog> element: focus is trapped by the browser, Escape
// closes, and focus returns to whatever opened it.

import { h } from "../dom.js";
import { icon } from "../icons.js";

export function openModal(title, ...content) {
  const opener = document.activeElement;
  const close = h("button", { type: "button", class: "icon-button", "aria-label": "Close" }, icon("close", 18));
  const dialog = h(
    "dialog",
    { class: "modal", "aria-label": title },
    h("header", { class: "modal-head" }, h("h2", {}, title), close),
    h("div", { class: "modal-body" }, content),
  );
  const done = () => {
    dialog.close();
  };
  close.addEventListener("click", done);
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener instanceof HTMLElement) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: done, body: dialog.querySelector(".modal-body") };
}

/** A one-form dialog: `onSubmit(values)` may throw; its message shows inline. */
export function formModal(title, fields, submitLabel, onSubmit) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const button = h("button", { type: "submit" }, submitLabel);
  const form = h("form", { class: "stack" }, fields, error, button);
  const modal = openModal(title, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    try {
      const values = Object.fromEntries(new FormData(form).entries());
      for (const box of form.querySelectorAll("input[type=checkbox]")) values[box.name] = box.checked;
      await onSubmit(values, modal);
      modal.close();
    } catch (failure) {
      error.hidden = false;
      error.textContent = failure.message || "Something went wrong";
    } finally {
      button.disabled = false;
    }
  });
  form.querySelector("input, textarea, select")?.focus();
  return modal;
}

export function field(label, name, attributes = {}) {
  return h("label", { class: "field" }, h("span", {}, label), h("input", { name, ...attributes }));
}

export function confirmModal(title, text, confirmLabel, onConfirm) {
  return formModal(title, typeof text === "string" ? [h("p", {}, text)] : text, confirmLabel, onConfirm);
}
