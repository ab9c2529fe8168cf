// Settings: encryption, profile, notifications, invite codes to share, and the account (password,
// two-factor authentication, signed-in devices, deletion: account.js).

import { api, session, settled } from "../api.js";
import { h, mount } from "../dom.js";
import { navigate, signedOut } from "../app.js";
import { store } from "../store.js";
import { encryptionSettings } from "./keys.js";
import { notifier } from "../notify.js";
import { reportOutcomes } from "../report-outcomes.js";
import { outcomeText } from "../reports.js";
import { decodeMeta } from "../util.js";
import { deleteSection, passwordSection, sessionsSection, twoFactorSection } from "./account.js";
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

/** Desktop notifications, sound, and what is muted (notify.js keeps them in this browser). */
function notificationsSection() {
  const section = h("section", { id: "notifications" });
  const draw = () => {
    const status = h("p", { class: "status", role: "status" });
    const sound = h("input", { type: "checkbox", id: "notify-sound", checked: notifier.prefs.sound });
    sound.addEventListener("change", () => notifier.setPref("sound", sound.checked));
    const muted = Object.keys(notifier.prefs.muted);
    const desktop = notifier.desktopOn
      ? [h("p", {}, "Desktop notifications are on for direct messages and mentions."),
        h("button", { type: "button", class: "secondary", id: "notify-off", onclick: () => { notifier.setPref("desktop", false); draw(); } }, "Turn off")]
      : [h("p", {}, notifier.permission === "denied" ? "Your browser blocks notifications from this site: allow them in its site settings first." : "Get a desktop notification for direct messages and mentions (nothing from muted servers and conversations)."),
        h("button", { type: "button", id: "notify-on", disabled: notifier.permission === "denied" || notifier.permission === "unsupported",
          onclick: () => notifier.enableDesktop().then(draw, (e) => { status.textContent = e.message; }) }, "Turn on desktop notifications")];
    mount(section, h("h2", {}, "Notifications"), desktop, status,
      h("label", { class: "check" }, sound, " Play a sound for direct messages and mentions"),
      h("h3", {}, "Muted"), muted.length ? h("ul", { id: "muted-list" }, muted.map((id) => {
        const server = store.server(id);
        const channel = server ? null : store.channel(id);
        const name = server ? store.serverName(server) : channel ? (channel.server_id ? `#${decodeMeta(channel.encrypted_meta, "channel").name}` : store.dmTitle(channel)) : "A conversation";
        return h("li", {}, h("span", { class: "grow" }, name), h("button", { type: "button", class: "small secondary", onclick: () => { notifier.setMuted(id, false); draw(); } }, "Unmute"));
      })) : h("p", { class: "muted small" }, "Nothing is muted. Mute a server from its menu, or a conversation with the bell in its header."));
  };
  draw();
  return section;
}

/** The reports this user filed and how each ended (GET /reports), kept live by ReportResolved. */
function reportsSection() {
  const section = h("section", { id: "my-reports", class: "my-reports" });
  const draw = (reports) => mount(section, h("h2", {}, "Your reports"),
    reports.length ? h("ul", {}, reports.map((r) => h("li", { class: "report", dataset: { reportId: r.id, status: r.status, outcome: r.outcome || "" } },
      h("span", {}, r.reason),
      h("span", { class: "muted small" }, `Sent ${when(r.created_at)}${r.content || r.attachment_names ? ", with the message" : ""}. `,
        r.resolved_at ? `Reviewed ${when(r.resolved_at)}: ${outcomeText(r)}.` : "Waiting for review.")))) :
      h("p", { class: "muted small" }, "You have not reported anything. To report a message, use the flag among its actions."));
  const load = () => api("GET", "/reports?limit=50").then(draw, () => {});
  const off = reportOutcomes.on(() => (section.isConnected ? load() : off()));
  load();
  return section;
}

/** The first account of an instance is its administrator: say so, with the way to the admin. */
function adminNote(user) {
  if (!user.is_instance_admin) return null;
  return h("section", { id: "admin-note", class: "admin-note" }, h("h2", {}, "You administer this Haven instance"),
    h("p", {}, "As the first account, you are the instance administrator: you can manage users, registration invites and reports."),
    h("a", { href: "/admin/", class: "button-link", id: "admin-link" }, "Open the admin"));
}

export async function renderSettings(root) {
  const current = session.load();
  const user = current.user;
  const signOut = h("button", { type: "button", class: "secondary", id: "sign-out" }, "Sign out");
  const confirmSignOut = () => {
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
  };
  signOut.addEventListener("click", confirmSignOut);
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
    if (!store.running) notifier.start(user);
    mount(root, header, adminNote(user), encryption, profileEditor(user), notificationsSection(), await inviteCodes(),
      reportsSection(), passwordSection(user), twoFactorSection(user), await sessionsSection(confirmSignOut), deleteSection());
  } catch (failure) {
    if (!session.load()) navigate("#/login");
    else mount(root, header, h("p", { class: "error" }, failure.message));
  }
}
