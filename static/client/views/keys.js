// Encryption keys in the interface: the sign-in gate of a browser without keys (restore from the
// security phrase, or make new keys as an explicit choice), the notice shown when another browser
// replaced the keys, and the key-backup section of Settings.

import { h, mount } from "../dom.js";
import { recoveryKey, MIN_PHRASE } from "../e2ee/backup.js";
import { systemRandom } from "../e2ee/sodium.js";
import { ROTATION_DEFAULTS, rotationPolicy, setRotationPolicy } from "../e2ee/service.js";
import { api } from "../api.js";
import { confirmModal, openModal } from "./modal.js";
import { showSafetyNumber } from "./profile.js";

const NEW_KEYS_WARNING =
  "New keys make everything sent to your current keys unreadable in this browser (your earlier " +
  "direct messages, and channel messages from before), and your other signed-in browsers stop " +
  "reading new messages until they restore the new keys. People you talk to see that your key changed.";

/** Lets a running event loop paint a status line before Argon2id (a few seconds) blocks it. */
const paint = () => new Promise((resolve) => setTimeout(resolve, 30));

function phraseForm({ id, label, submitLabel, onSubmit }) {
  const input = h("input", { type: "password", name: "phrase", autocomplete: "off", required: true, id: `${id}-phrase` });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const status = h("p", { class: "muted small", role: "status" });
  const button = h("button", { type: "submit" }, submitLabel);
  const form = h("form", { class: "stack", id }, h("label", { class: "field" }, h("span", {}, label), input), status, error, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    status.textContent = "Opening the backup (this takes a few seconds)…";
    await paint();
    try {
      await onSubmit(input.value);
    } catch (failure) {
      error.hidden = false;
      error.textContent = failure.message || "Something went wrong";
      status.textContent = "";
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/**
 * The gate after sign-in on a browser without this account's keys. `onReady()` continues into the
 * app; `onCancel()` signs out.
 */
export async function renderKeyGate(root, e2ee, { onReady, onCancel }) {
  mount(root, h("p", { class: "loading", role: "status" }, "Checking your key backup…"));
  const { has_backup: hasBackup } = await e2ee.backupStatus();
  const newKeys = h("button", { type: "button", class: hasBackup ? "secondary" : "", id: "make-new-keys", onclick: () => {
    confirmModal("Make new encryption keys?", NEW_KEYS_WARNING, "Make new keys", async () => {
      await e2ee.createKeys();
      onReady();
    });
  } }, hasBackup ? "I cannot restore: make new keys" : "Make new keys");
  const cancel = h("button", { type: "button", class: "secondary", onclick: onCancel }, "Sign out");
  const card = h("div", { class: "card keys-gate", id: "key-gate" }, h("h1", {}, "Your encryption keys"));
  if (hasBackup) {
    card.append(
      h("p", {}, "This browser has no encryption keys for your account. Enter your security phrase to restore them from your key backup: you will read your earlier messages here, and your other browsers keep working."),
      phraseForm({ id: "restore-form", label: "Security phrase", submitLabel: "Restore keys", onSubmit: async (phrase) => {
        await e2ee.restore(phrase);
        onReady();
      } }),
      h("p", { class: "muted small" }, NEW_KEYS_WARNING),
      h("div", { class: "row" }, newKeys, cancel),
    );
  } else {
    card.append(
      h("p", {}, "This browser has no encryption keys for your account and there is no key backup to restore them from."),
      h("p", { class: "muted small" }, NEW_KEYS_WARNING),
      h("div", { class: "row" }, newKeys, cancel),
    );
  }
  mount(root, card);
  card.querySelector("input")?.focus();
}

/** The notice of a browser whose keys another browser replaced: restore them, or take over. */
export function replacedNotice(e2ee, onDone) {
  return h("div", { class: "keys-replaced notice error", role: "alert", id: "keys-replaced" },
    h("strong", {}, "Your encryption keys were replaced in another browser. "),
    "This browser can no longer read new messages or send encrypted ones. ",
    h("button", { type: "button", class: "small", onclick: () => {
      const modal = openModal("Restore the new keys", phraseForm({ id: "restore-form", label: "Security phrase", submitLabel: "Restore keys", onSubmit: async (phrase) => {
        await e2ee.restore(phrase);
        modal.close();
        onDone();
      } }));
    } }, "Restore from my phrase"),
    " ",
    h("button", { type: "button", class: "small secondary", onclick: () => confirmModal("Make new encryption keys?", NEW_KEYS_WARNING, "Make new keys", async () => {
      await e2ee.createKeys();
      onDone();
    }) }, "Make new keys here"));
}

/** Settings → Encryption: the key backup (security phrase) and the sender-key schedule. */
export function encryptionSettings(e2ee) {
  const section = h("section", { id: "encryption" }, h("h2", {}, "Encryption"));
  const draw = async () => {
    const status = await e2ee.backupStatus().catch(() => ({ has_backup: false }));
    const state = status.has_backup
      ? h("p", { id: "backup-state" }, `Key backup: on${e2ee.hasBackupKey ? "" : " (set your phrase again in this browser to keep it up to date)"}. Last saved ${status.updated_at ? new Date(status.updated_at).toLocaleString() : "—"}.`)
      : h("p", { id: "backup-state", class: "warn" }, "Key backup: off. If you lose this browser, you lose your encrypted messages. Set up a security phrase:");
    const first = h("input", { type: "password", name: "phrase", autocomplete: "new-password", minlength: MIN_PHRASE, required: true, id: "backup-phrase" });
    const second = h("input", { type: "password", name: "again", autocomplete: "new-password", required: true, id: "backup-phrase-again" });
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const done = h("p", { class: "muted small", role: "status" });
    const generated = h("p", { class: "recovery-key", hidden: true, id: "recovery-key" });
    const generate = h("button", { type: "button", class: "secondary small", id: "generate-recovery-key", onclick: () => {
      const key = recoveryKey(systemRandom);
      first.value = key;
      second.value = key;
      generated.hidden = false;
      mount(generated, "Your recovery key (write it down; it is not shown again): ", h("code", {}, key));
    } }, "Generate a recovery key");
    const button = h("button", { type: "submit" }, status.has_backup ? "Change phrase" : "Turn on key backup");
    const form = h("form", { class: "stack", id: "backup-form" },
      h("label", { class: "field" }, h("span", {}, `Security phrase (at least ${MIN_PHRASE} characters)`), first),
      h("label", { class: "field" }, h("span", {}, "The same phrase again"), second),
      generate, generated, error, done, button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      if (first.value !== second.value) {
        error.hidden = false;
        error.textContent = "The two phrases differ.";
        return;
      }
      button.disabled = true;
      done.textContent = "Saving your key backup…";
      await paint();
      try {
        await e2ee.setupBackup(first.value);
        done.textContent = "Key backup saved.";
        setTimeout(draw, 800);
      } catch (failure) {
        error.hidden = false;
        error.textContent = failure.message;
        done.textContent = "";
      } finally {
        button.disabled = false;
      }
    });
    mount(section, h("h2", {}, "Encryption"), state, form, contactsList(e2ee), rotationForm());
  };
  draw();
  return section;
}

/** Friends with their safety numbers and verified marks (the profile card shows the same). */
function contactsList(e2ee) {
  const list = h("ul", { class: "contacts", id: "contact-keys" }, h("li", { class: "muted small" }, "Loading…"));
  const fill = () => api("GET", "/friends?limit=100").then((friends) => {
    const accepted = friends.filter((f) => f.status === "accepted");
    mount(list, accepted.length ? accepted.map((f) => h("li", { class: "friend", dataset: { userId: f.user_id } },
      h("span", { class: "grow" }, f.display_name || f.username),
      e2ee.trust.changes(f.user_id).length ? h("span", { class: "warn small" }, "⚠ key changed ") : null,
      e2ee.trust.verified(f.user_id) ? h("span", { class: "ok small" }, "✓ verified ") : null,
      h("button", { type: "button", class: "small secondary", dataset: { action: "safety-number" }, onclick: () => showSafetyNumber(f.user_id, fill) }, "Safety number")))
      : h("li", { class: "muted small" }, "Your friends appear here with their safety numbers."));
  }, () => mount(list, h("li", { class: "muted small" }, "Could not load your friends.")));
  fill();
  return h("div", {}, h("h3", {}, "Safety numbers"), h("p", { class: "muted small" }, "Compare a safety number with your contact (in person or on a call) to be sure your messages reach them and nobody else; then mark them verified."), list);
}

function rotationForm() {
  const policy = rotationPolicy();
  const messages = h("input", { type: "number", name: "messages", min: 1, max: 100000, value: policy.messages, id: "rotate-messages" });
  const days = h("input", { type: "number", name: "days", min: 1, max: 365, value: policy.days, id: "rotate-days" });
  const saved = h("span", { class: "muted small", role: "status" });
  const form = h("form", { class: "stack", id: "rotation-form" },
    h("p", { class: "muted small" }, `In channels and groups, your messages use a sender key that is replaced whenever someone leaves, and also after this many of your messages or days (defaults ${ROTATION_DEFAULTS.messages} and ${ROTATION_DEFAULTS.days}), so a key that leaks stops working soon.`),
    h("label", { class: "field" }, h("span", {}, "New sender key after (messages)"), messages),
    h("label", { class: "field" }, h("span", {}, "…or after (days)"), days),
    h("button", { type: "submit", class: "secondary" }, "Save"), saved);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setRotationPolicy({ messages: Math.max(1, Math.floor(Number(messages.value) || ROTATION_DEFAULTS.messages)), days: Math.max(1, Number(days.value) || ROTATION_DEFAULTS.days) });
    saved.textContent = " Saved.";
  });
  return form;
}
