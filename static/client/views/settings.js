// Settings: your account, invite codes to share, signed-in devices, two-factor authentication.

import { api, session, settled } from "../api.js";
import { h, mount } from "../dom.js";
import { navigate, signedOut } from "../app.js";
import { store } from "../store.js";
import { encryptionSettings } from "./keys.js";
import { confirmModal } from "./modal.js";
import { profileEditor } from "./profile.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

async function inviteCodes() {
  const invites = await api("GET", "/registration-invites");
  const rows = invites.map((invite) =>
    h(
      "li",
      { class: invite.used ? "invite used" : "invite", dataset: { code: invite.code } },
      h("code", {}, invite.code),
      h("span", { class: "muted" }, invite.used ? "used" : invite.expires_at ? `expires ${when(invite.expires_at)}` : "unused"),
      invite.used
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "small",
              onclick: () => navigator.clipboard?.writeText(invite.code),
            },
            "Copy",
          ),
    ),
  );
  return h(
    "section",
    { id: "invite-codes" },
    h("h2", {}, "Invite codes"),
    invites.length
      ? h("p", {}, "Each code lets one person register. Share them with people you trust.")
      : h("p", { class: "muted" }, "You have no invite codes."),
    h("ul", { class: "invites" }, rows),
  );
}

async function devices() {
  const sessions = await api("GET", "/auth/sessions");
  const list = h(
    "ul",
    { class: "sessions" },
    sessions.map((s) =>
      h(
        "li",
        {},
        h("strong", {}, s.device_name || "Unknown device"),
        h("span", { class: "muted" }, ` ${s.ip_address || ""} · last active ${when(s.last_activity)}`),
        s.is_current
          ? h("span", { class: "badge" }, "this device")
          : h(
              "button",
              {
                type: "button",
                class: "small",
                onclick: async () => {
                  await api("DELETE", `/auth/sessions/${s.family_id}`);
                  navigate("#/settings");
                },
              },
              "Sign out",
            ),
      ),
    ),
  );
  return h("section", { id: "sessions" }, h("h2", {}, "Signed-in devices"), list);
}

function twoFactor(user) {
  const section = h("section", { id: "two-factor" }, h("h2", {}, "Two-factor authentication"));
  if (user.totp_enabled) {
    section.append(
      h("p", {}, "Two-factor authentication is on."),
      h("button", { type: "button", onclick: async () => {
        await api("DELETE", "/auth/totp");
        user.totp_enabled = false;
        section.replaceWith(twoFactor(user));
      } }, "Turn off"),
    );
    return section;
  }
  const setup = h("button", { type: "button" }, "Set up");
  setup.addEventListener("click", async () => {
    const { secret } = await api("POST", "/auth/totp/setup");
    const code = h("input", { name: "code", inputmode: "numeric", maxlength: 6, autocomplete: "one-time-code" });
    const error = h("p", { class: "error", hidden: true });
    const form = h(
      "form",
      {},
      h("p", {}, "Add this key to your authenticator app, then enter the code it shows:"),
      h("code", { class: "secret" }, secret),
      code,
      error,
      h("button", { type: "submit" }, "Verify"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", "/auth/totp/verify", { code: code.value });
        user.totp_enabled = true;
        section.replaceWith(twoFactor(user));
      } catch (failure) {
        error.hidden = false;
        error.textContent = failure.message;
      }
    });
    setup.replaceWith(form);
  });
  section.append(h("p", {}, "Protect your account with a code from an authenticator app."), setup);
  return section;
}

export async function renderSettings(root) {
  const current = session.load();
  const user = current.user;
  const signOut = h("button", { type: "button", class: "secondary", id: "sign-out" }, "Sign out");
  signOut.addEventListener("click", () => {
    const remove = h("input", { type: "checkbox", name: "remove_keys", id: "remove-keys" });
    confirmModal("Sign out", [
      h("p", {}, "Sign out of Haven in this browser?"),
      h("label", { class: "check" }, remove, " Also remove this browser's encryption keys and decrypted messages (on a shared or borrowed computer). You will need your security phrase to read your messages here again."),
    ], "Sign out", async () => {
      try {
        await store.crypto?.stop({ removeKeys: remove.checked });
        signedOut(); // nothing may call the API once the session is revoked...
        await settled(); // ...nor still be on its way
        await api("POST", "/auth/logout");
      } finally {
        session.clear();
        signedOut();
        navigate("#/login");
      }
    });
  });
  const header = h(
    "header",
    { class: "topbar" },
    h("a", { href: "#/channels/@me", class: "back", id: "open-app" }, "← Back to Haven"),
    h("h1", {}, "Settings"),
    h("span", { class: "whoami" }, user.display_name || user.username),
    signOut,
  );
  mount(root, header, h("p", { class: "muted" }, "Loading…"));
  try {
    const e2ee = await store.ensureCrypto().catch(() => null);
    const encryption = e2ee?.status === "ready"
      ? encryptionSettings(e2ee)
      : h("section", { id: "encryption" }, h("h2", {}, "Encryption"), h("p", { class: "warn" }, "This browser does not hold your encryption keys: open Haven to restore them from your security phrase."));
    mount(root, header, encryption, profileEditor(user), await inviteCodes(), twoFactor(user), await devices());
  } catch (failure) {
    if (!session.load()) navigate("#/login");
    else mount(root, header, h("p", { class: "error" }, failure.message));
  }
}
