// Profiles: the card shown when a name is clicked, and the editor for one's own profile.

import { api, apiUpload, session } from "../api.js";
import { h, mount } from "../dom.js";
import { navigate } from "../app.js";
import { avatar } from "../media.js";
import { profile } from "../people.js";
import { store } from "../store.js";
import { dmMeta } from "../util.js";
import { openModal } from "./modal.js";

export async function showProfile(userId, serverId = null) {
  const modal = openModal("Profile", h("p", { class: "muted", role: "status" }, "Loading…"));
  modal.dialog.classList.add("profile-card");
  try {
    const p = await api("GET", `/users/${userId}/profile${serverId ? `?server_id=${serverId}` : ""}`);
    const self = userId === store.me.id;
    const actions = [];
    if (!self) {
      actions.push(h("button", { type: "button", class: "small", onclick: async () => {
        try {
          const channel = await api("POST", "/dm", { target_user_id: userId, encrypted_meta: dmMeta(store.me, { id: userId, username: p.username }) });
          await store.loadDms();
          modal.close();
          navigate(`#/channels/@me/${channel.id}`);
        } catch (failure) {
          error.hidden = false;
          error.textContent = failure.message;
        }
      } }, "Message"));
      if (!p.is_friend && !p.friend_request_status) {
        actions.push(h("button", { type: "button", class: "small secondary", onclick: async (e) => {
          try {
            await api("POST", "/friends/request", { username: p.username });
            e.target.replaceWith(h("span", { class: "muted small" }, "Request sent"));
          } catch (failure) {
            error.hidden = false;
            error.textContent = failure.message;
          }
        } }, "Add friend"));
      }
    }
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const banner = typeof p.banner_url === "string" && p.banner_url.startsWith("/api/v1/")
      ? h("img", { class: "profile-banner", src: store.imageUrl(p.banner_url), alt: "" }) : null;
    mount(modal.body, banner,
      h("div", { class: "profile-title" }, avatar({ userId: p.id, name: p.display_name || p.username, url: p.avatar_url, size: 64, className: "profile-avatar" }),
        h("div", {}, h("h3", {}, p.display_name || p.username), h("p", { class: "muted" }, `@${p.username}`))),
      p.custom_status ? h("p", { class: "custom-status" }, p.custom_status) : null,
      p.about_me ? h("section", { class: "about" }, h("h4", {}, "About me"), h("p", {}, p.about_me)) : null,
      p.roles?.length ? h("p", { class: "roles" }, p.roles.map((r) => h("span", { class: "role-chip" }, r.name))) : null,
      self ? null : h("p", { class: "muted small" }, `${p.mutual_server_count} mutual servers · ${p.mutual_friend_count} mutual friends${p.is_friend ? " · friends" : ""}`),
      self ? null : safetySection(userId),
      error, h("div", { class: "row" }, actions));
  } catch (failure) {
    mount(modal.body, h("p", { class: "error", role: "alert" }, failure.message));
  }
}

/** The safety number with a user and the verified mark (e2ee.md 10), for the profile card. */
function safetySection(userId, onChange) {
  const section = h("section", { class: "safety", id: "safety-number" }, h("h4", {}, "Encryption"), h("p", { class: "muted small" }, "Loading the safety number…"));
  store.crypto.safetyNumber(userId).then((number) => {
    const trust = store.crypto.trust;
    const verified = trust.verified(userId);
    const changes = trust.changes(userId);
    const toggle = h("button", { type: "button", class: verified ? "small secondary" : "small", id: "verify-contact", onclick: () => {
      trust.setVerified(userId, !verified);
      section.replaceWith(safetySection(userId, onChange));
      onChange?.();
      store.emit("keychange");
    } }, verified ? "Remove the verified mark" : "Mark as verified");
    mount(section, h("h4", {}, "Encryption"),
      changes.length ? h("p", { class: "warn", role: "alert" }, `⚠ Their security key changed on ${new Date(changes.at(-1).at).toLocaleString()}.`) : null,
      h("p", { class: "small" }, "Safety number: compare it with theirs (in person, or over a call). If both match, your messages are encrypted for the right person."),
      h("p", { class: "safety-digits", id: "safety-digits" }, number.groups.map((g) => h("code", {}, g))),
      h("p", { class: "fingerprint", "aria-hidden": "true" }, Array.from(number.hash, (b) => h("span", { style: `background:hsl(${(b * 360) / 256} 55% 45%)` }))),
      h("p", { class: `small${verified ? " ok" : " muted"}`, id: "verified-state" }, verified ? "✓ Verified" : "Not verified"),
      toggle);
  }, (failure) => mount(section, h("h4", {}, "Encryption"), h("p", { class: "error small" }, failure.message)));
  return section;
}

/** A dialog with just the safety number of a user (from a key-change notice). */
export function showSafetyNumber(userId, onChange) {
  const modal = openModal("Safety number", safetySection(userId, onChange));
  modal.dialog.classList.add("profile-card");
  return modal;
}

/** The "Profile" section of the settings page. */
export function profileEditor(user) {
  const input = (label, name, value, attrs = {}) => h("label", { class: "field" }, h("span", {}, label), h("input", { name, value: value || "", ...attrs }));
  const about = h("textarea", { name: "about_me", rows: 3, maxlength: 500 });
  about.value = user.about_me || "";
  const status = h("p", { class: "status", role: "status" });
  const form = h("form", { class: "stack", id: "profile-form" },
    input("Display name", "display_name", user.display_name, { maxlength: 64 }),
    h("label", { class: "field" }, h("span", {}, "About me"), about),
    input("Custom status", "custom_status", user.custom_status, { maxlength: 128 }),
    status, h("button", { type: "submit" }, "Save profile"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    try {
      const updated = await api("PUT", "/users/profile", {
        display_name: values.display_name.trim() || null,
        about_me: values.about_me.trim() || null,
        custom_status: values.custom_status.trim() || null,
      });
      const current = session.load();
      session.save({ ...current, user: { ...current.user, ...updated } });
      if (store.me) Object.assign(store.me, updated);
      profile(updated.id, true).catch(() => {});
      status.className = "status";
      status.textContent = "Saved.";
    } catch (failure) {
      status.className = "error";
      status.textContent = failure.message;
    }
  });
  const privacy = h("select", { name: "dm_privacy", id: "dm-privacy" },
    [["friends_only", "Friends only"], ["server_members", "Friends and people in my servers"], ["everyone", "Everyone"]].map(([v, l]) =>
      h("option", { value: v, selected: (localStorage.getItem(`haven.dmPrivacy.${user.id}`) || "friends_only") === v }, l)));
  const privacyStatus = h("span", { class: "status", role: "status" });
  privacy.addEventListener("change", async () => {
    try {
      await api("PUT", "/users/dm-privacy", { dm_privacy: privacy.value });
      // The server never reports the current value back, so this device remembers it.
      localStorage.setItem(`haven.dmPrivacy.${user.id}`, privacy.value);
      privacyStatus.textContent = " Saved.";
    } catch (failure) {
      privacyStatus.textContent = ` ${failure.message}`;
    }
  });
  return h("section", { id: "profile" }, h("h2", {}, "Profile"), imagesEditor(user), form,
    h("h3", {}, "Who can send you direct messages"), h("label", { class: "field" }, h("span", {}, "Direct messages from"), privacy), privacyStatus);
}

const IMAGE_ACCEPT = "image/png,image/jpeg,image/gif,image/webp";

/** Avatar and banner upload (POST /users/avatar, /users/banner: the raw image bytes). */
function imagesEditor(user) {
  const status = h("p", { class: "status", role: "status", id: "profile-images-status" });
  const preview = h("div", { class: "profile-images" });
  const draw = () => {
    const me = store.me || user;
    mount(preview,
      avatar({ userId: me.id, name: me.display_name || me.username, url: me.avatar_url, size: 72, className: "profile-avatar" }),
      me.banner_url ? h("img", { class: "profile-banner small", src: store.imageUrl(me.banner_url), alt: "Your banner" }) : h("span", { class: "muted small" }, "No banner"));
  };
  const picker = (label, kind, limit) => {
    const input = h("input", { type: "file", accept: IMAGE_ACCEPT, id: `${kind}-file`, name: kind });
    input.addEventListener("change", async () => {
      const file = input.files[0];
      input.value = "";
      if (!file) return;
      status.className = "status";
      status.textContent = `Uploading ${label.toLowerCase()}…`;
      try {
        const updated = await apiUpload(`/users/${kind}`, file, { contentType: file.type || "application/octet-stream" });
        const current = session.load();
        session.save({ ...current, user: { ...current.user, ...updated } });
        if (store.me) Object.assign(store.me, updated);
        Object.assign(user, updated);
        if (updated[`${kind}_url`]) store.imageChanged(updated[`${kind}_url`]);
        profile(updated.id, true).catch(() => {});
        status.textContent = `${label} saved.`;
        draw();
      } catch (failure) {
        status.className = "error";
        status.textContent = failure.message;
      }
    });
    return h("label", { class: "field" }, h("span", {}, `${label} (PNG, JPEG, GIF or WebP, at most ${limit})`), input);
  };
  draw();
  return h("div", { class: "stack", id: "profile-images" }, preview, picker("Avatar", "avatar", "2 MB"), picker("Banner", "banner", "8 MB"), status);
}
