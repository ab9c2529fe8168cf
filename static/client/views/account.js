// Settings → Account: password, two-factor authentication (its QR code drawn here, in the browser),
// signed-in devices (sign one out), and deleting the account.

import { api, publicApi, session } from "../api.js";
import { navigate, signedOut } from "../app.js";
import { h, mount } from "../dom.js";
import { store } from "../store.js";
import qrcodegen from "../vendor/qrcodegen.esm.js";
import { confirmModal } from "./modal.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const field = (label, attrs) => h("label", { class: "field" }, h("span", {}, label), h("input", attrs));

function statusLine(id) {
  return h("p", { class: "status", role: "status", id });
}

function say(line, text, error = false) {
  line.className = error ? "error" : "status";
  line.textContent = text;
}

/** A QR code of `text` on a canvas (Project Nayuki's encoder, vendored; 4-module quiet zone). */
export function qrCanvas(text, label) {
  const qr = qrcodegen.QrCode.encodeText(text, qrcodegen.QrCode.Ecc.MEDIUM);
  const scale = 5;
  const border = 4;
  const side = (qr.size + border * 2) * scale;
  const canvas = h("canvas", { width: side, height: side, class: "qr", role: "img", "aria-label": label, id: "totp-qr" });
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, side, side);
  ctx.fillStyle = "#000";
  for (let y = 0; y < qr.size; y += 1) {
    for (let x = 0; x < qr.size; x += 1) if (qr.getModule(x, y)) ctx.fillRect((x + border) * scale, (y + border) * scale, scale, scale);
  }
  return canvas;
}

export function passwordSection(user) {
  const status = statusLine("password-status");
  const form = h("form", { class: "stack", id: "password-form" },
    field("Current password", { type: "password", name: "current_password", autocomplete: "current-password", required: true }),
    field("New password (8 to 128 characters)", { type: "password", name: "new_password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128 }),
    user.totp_enabled ? field("Two-factor code (to stay signed in here)", { name: "totp_code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 6 }) : null,
    status, h("button", { type: "submit" }, "Change password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    // Changing the password signs every device out, this one included: sign in again at once
    // with the new password, so this tab carries on (its socket reconnects with the new session).
    let renewed;
    store.renewing = new Promise((resolve) => { renewed = resolve; });
    try {
      await api("PUT", "/auth/password", { current_password: values.current_password, new_password: values.new_password });
      const body = { username: user.username, password: values.new_password };
      if (values.totp_code) body.totp_code = values.totp_code;
      const auth = await publicApi("POST", "/auth/login", body);
      if (auth.totp_required) throw new Error("Password changed. Sign in again with your two-factor code.");
      session.save({ ...session.load(), ...auth });
      form.reset();
      say(status, "Password changed. Your other devices were signed out.");
    } catch (failure) {
      say(status, failure.message, true);
    } finally {
      renewed();
      store.renewing = null;
    }
  });
  return h("section", { id: "password" }, h("h2", {}, "Password"), form);
}

export function twoFactorSection(user) {
  const section = h("section", { id: "two-factor" }, h("h2", {}, "Two-factor authentication"));
  const draw = () => mount(section, h("h2", {}, "Two-factor authentication"), ...(user.totp_enabled ? enabled() : disabled()));
  const enabled = () => [h("p", {}, "Two-factor authentication is on: signing in asks for a code from your authenticator app."),
    h("button", { type: "button", class: "secondary", id: "totp-off", onclick: () => confirmModal("Turn off two-factor authentication",
      "Signing in will then need only your password.", "Turn off", async () => {
        await api("DELETE", "/auth/totp");
        user.totp_enabled = false;
        draw();
      }) }, "Turn off")];
  const disabled = () => {
    const setup = h("button", { type: "button", id: "totp-setup" }, "Set up");
    setup.addEventListener("click", async () => {
      try {
        const { secret, qr_code_uri: uri } = await api("POST", "/auth/totp/setup");
        setup.replaceWith(verifyForm(secret, uri));
      } catch (failure) {
        setup.after(h("p", { class: "error", role: "alert" }, failure.message));
      }
    });
    return [h("p", {}, "Protect your account with a code from an authenticator app."), setup];
  };
  const verifyForm = (secret, uri) => {
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const form = h("form", { class: "stack", id: "totp-form" },
      h("p", {}, "Scan this code with your authenticator app (it was drawn in this browser), or type the key below. Then enter the code the app shows."),
      qrCanvas(uri, "QR code for your authenticator app"),
      h("p", {}, "Key: ", h("code", { class: "secret", id: "totp-secret" }, secret)),
      field("Code from the app", { name: "code", inputmode: "numeric", maxlength: 6, autocomplete: "one-time-code", required: true }),
      error, h("button", { type: "submit" }, "Verify and turn on"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", "/auth/totp/verify", { code: form.querySelector("[name=code]").value.trim() });
        user.totp_enabled = true;
        const current = session.load();
        session.save({ ...current, user: { ...current.user, totp_enabled: true } });
        draw();
      } catch (failure) {
        error.hidden = false;
        error.textContent = failure.message;
      }
    });
    return form;
  };
  draw();
  return section;
}

export async function sessionsSection(onSignOutHere) {
  const section = h("section", { id: "sessions" }, h("h2", {}, "Signed-in devices"));
  const draw = async () => {
    const sessions = await api("GET", "/auth/sessions");
    mount(section, h("h2", {}, "Signed-in devices"),
      h("p", { class: "muted small" }, "Signing a device out ends its session there at once (it returns to the sign-in page)."),
      h("ul", { class: "sessions" }, sessions.map((s) => h("li", { dataset: { familyId: s.family_id, current: String(Boolean(s.is_current)) } },
        h("div", { class: "grow" }, h("strong", {}, s.device_name || "Unknown device"),
          h("span", { class: "muted small" }, ` ${s.ip_address || ""} · last active ${when(s.last_activity)}`)),
        s.is_current
          ? h("button", { type: "button", class: "small secondary", dataset: { action: "sign-out-here" }, onclick: onSignOutHere }, "This device: sign out")
          : h("button", { type: "button", class: "small", dataset: { action: "sign-out-device" }, onclick: async (e) => {
            e.currentTarget.disabled = true;
            await api("DELETE", `/auth/sessions/${s.family_id}`).catch(() => {});
            await draw();
          } }, "Sign out that device")))));
  };
  await draw();
  return section;
}

export function deleteSection() {
  const open = () => {
    const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
    confirmModal("Delete your account", [
      h("p", {}, "This deletes your account, every server you own (for everyone in it), and your messages. It cannot be undone."),
      h("label", { class: "field" }, h("span", {}, "Your password"), password),
    ], "Delete my account", async () => {
      await api("POST", "/auth/delete-account", { password: password.value });
      const crypto = store.crypto;
      session.clear();
      signedOut();
      await crypto?.stop({ removeKeys: true }).catch(() => {}); // keys of a deleted account: gone
      sessionStorage.setItem("haven.signedOutNotice", "Your account was deleted.");
      navigate("#/login");
    });
  };
  return h("section", { id: "delete-account", class: "danger-zone" }, h("h2", {}, "Delete account"),
    h("p", { class: "muted" }, "Removes your account and everything it owns from this server."),
    h("button", { type: "button", class: "danger", id: "delete-account-button", onclick: open }, "Delete account…"));
}
