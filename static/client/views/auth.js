// Sign-in and registration, with the two-step TOTP login and invite-only registration. Sign-in
// also answers the instance's sanctions (docs/moderation.md): a suspended account is told why and
// until when; an account that must choose a new password does so here and signs in with it.

import { ApiError, publicApi, session } from "../api.js";
import { solveChallenge } from "../crypto.js";
import { generateKeys, installRegistrationKeys } from "../e2ee/service.js";
import { formValues, h, mount } from "../dom.js";
import { navigate, pendingInvite } from "../app.js";

function field(label, name, attributes = {}) {
  return h("label", { class: "field" }, h("span", {}, label), h("input", { name, ...attributes }));
}

/** Why the user is on this page: an invite waiting, or a session that ended elsewhere. */
function notices() {
  const out = [];
  const ended = sessionStorage.getItem("haven.signedOutNotice");
  if (ended) {
    sessionStorage.removeItem("haven.signedOutNotice");
    out.push(h("p", { class: "notice", role: "alert", id: "signed-out-notice" }, ended));
  }
  if (pendingInvite()) out.push(h("p", { class: "notice", id: "invite-notice" }, "You were invited to a server. Sign in or create an account, then join it."));
  return out;
}

function errorBox() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

function showError(box, error) {
  box.hidden = false;
  box.textContent = typeof error === "string" ? error : error instanceof ApiError ? error.message : "Something went wrong. Try again.";
}

/** The words of a suspension (403 `account_suspended`: `reason`, `suspended_until` or null). */
export function suspensionNotice(data) {
  const until = data?.suspended_until;
  return h("div", { class: "notice error suspended-notice", role: "alert", id: "suspended-notice" },
    h("p", {}, "Your account is suspended by this instance's admins",
      until ? [" until ", h("time", { datetime: until }, new Date(until).toLocaleString())] : " until they lift it", "."),
    data?.reason ? h("p", {}, "Reason: ", h("span", { class: "suspension-reason" }, data.reason)) : null);
}

// A new account lands on Settings (its invite codes to share); a returning user in the app.
function signedIn(auth, landing = "#/channels/@me") {
  session.save(auth);
  navigate(landing);
}

export async function renderAuth(root, mode) {
  if (mode === "register") return renderRegister(root);
  const error = errorBox();
  const totp = field("Two-factor code", "totp_code", {
    inputmode: "numeric",
    autocomplete: "one-time-code",
    maxlength: 6,
  });
  totp.hidden = true;
  // Asked for only when the server requires a new password (then sent with every attempt).
  const change = h("fieldset", { id: "new-password-fields", hidden: true, disabled: true },
    h("legend", {}, "Choose a new password"),
    h("p", { class: "small" }, "This instance's admins ask you to choose a new password before signing in."),
    field("New password (8 to 128 characters)", "new_password", { type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128 }),
    field("New password again", "new_password_again", { type: "password", autocomplete: "new-password", required: true, minlength: 8, maxlength: 128 }));
  const sanction = h("div", { id: "sign-in-sanction" });
  const form = h(
    "form",
    { class: "card", id: "login-form" },
    h("h1", {}, "Sign in to Haven"),
    notices(),
    field("Username", "username", { autocomplete: "username", required: true }),
    field("Password", "password", { type: "password", autocomplete: "current-password", required: true }),
    change,
    totp,
    sanction,
    error,
    h("button", { type: "submit" }, "Sign in"),
    h("p", {}, "New here? ", h("a", { href: "#/register" }, "Create an account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const body = { username: values.username, password: values.password };
    if (!totp.hidden) body.totp_code = values.totp_code;
    if (!change.hidden) {
      if (values.new_password !== values.new_password_again) {
        showError(error, "The two new passwords are not the same.");
        return;
      }
      body.new_password = values.new_password;
    }
    error.hidden = true;
    sanction.replaceChildren();
    try {
      const result = await publicApi("POST", "/auth/login", body);
      if (result.totp_required) {
        totp.hidden = false;
        totp.querySelector("input").focus();
        return;
      }
      signedIn(result);
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === "password_change_required") {
        change.hidden = false;
        change.disabled = false;
        change.querySelector("input").focus();
      } else if (failure instanceof ApiError && failure.code === "account_suspended") {
        sanction.replaceChildren(suspensionNotice(failure.data));
      } else {
        showError(error, failure);
      }
    }
  });
  mount(root, form);
}

async function renderRegister(root) {
  const error = errorBox();
  const inviteRequired = (await publicApi("GET", "/auth/invite-required")).invite_required;
  const status = h("p", { class: "status", hidden: true });
  const form = h(
    "form",
    { class: "card", id: "register-form" },
    h("h1", {}, "Create your Haven account"),
    notices(),
    field("Username", "username", {
      autocomplete: "username",
      required: true,
      minlength: 3,
      maxlength: 32,
      pattern: "[A-Za-z0-9_\\-]+",
    }),
    field("Display name (optional)", "display_name", { maxlength: 64 }),
    field("Password", "password", {
      type: "password",
      autocomplete: "new-password",
      required: true,
      minlength: 8,
      maxlength: 128,
    }),
    inviteRequired
      ? field("Invite code", "invite_code", {
          autocomplete: "off",
          placeholder: "Not needed for the very first account",
        })
      : null,
    status,
    error,
    h("button", { type: "submit" }, "Create account"),
    h("p", {}, "Already have an account? ", h("a", { href: "#/login" }, "Sign in")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = formValues(form);
    const button = form.querySelector("button");
    button.disabled = true;
    status.hidden = false;
    try {
      status.textContent = "Creating your encryption keys…";
      const keys = generateKeys();
      const challenge = await publicApi("GET", "/auth/challenge");
      status.textContent = "Proving you are not a bot…";
      const nonce = await solveChallenge(challenge.challenge, challenge.difficulty);
      const body = {
        username: values.username,
        password: values.password,
        ...keys.request,
        pow_challenge: challenge.challenge,
        pow_nonce: nonce,
      };
      if (values.display_name) body.display_name = values.display_name;
      if (values.invite_code) body.invite_code = values.invite_code.trim();
      const registered = await publicApi("POST", "/auth/register", body);
      installRegistrationKeys(registered.user.id, keys.state);
      // The register answer never says whether this is the instance admin (the first account);
      // the refreshed session does (api.md 2.1).
      const auth = await publicApi("POST", "/auth/refresh", { refresh_token: registered.refresh_token }).catch(() => registered);
      signedIn(auth, pendingInvite() ? "#/channels/@me" : "#/settings");
    } catch (failure) {
      status.hidden = true;
      showError(error, failure);
    } finally {
      button.disabled = false;
    }
  });
  mount(root, form);
}
