// One conversation on screen: the header (title, topic, pins, mute, call, group tools), the voice
// panel of voice channels, notices, the timeline (timeline.js) and the composer (composer.js),
// all over one Conversation model (conversation.js) that realtime events reach via dispatch.js.

import { api } from "../api.js";
import { navigate } from "../app.js";
import { attachmentsOf } from "../attachments.js";
import { calls } from "../calls.js";
import { Conversation } from "../conversation.js";
import { h, mount } from "../dom.js";
import { customEmojis } from "../emojis.js";
import { icon } from "../icons.js";
import { notifier } from "../notify.js";
import { has, P } from "../perms.js";
import { store } from "../store.js";
import { decodeMeta, formatTime } from "../util.js";
import { Composer } from "./composer.js";
import { navToggle, toggleMembers } from "./drawers.js";
import { groupTools } from "./group.js";
import { confirmModal, openModal } from "./modal.js";
import { showSafetyNumber } from "./profile.js";
import { Timeline } from "./timeline.js";
import { renderVoicePanel } from "./voice.js";

let view = null;

/** Closes the open conversation (sign-out): no more requests from it. */
export function closeChat() {
  view?.destroy();
  view = null;
}

export function renderChat(container, { channelId, serverId }) {
  view?.destroy();
  view = new ChatView(container, channelId, serverId);
  view.start();
}

/** The open conversation's timeline (keyboard shortcuts reach it from the shell). */
export const openChat = () => view;

class ChatView {
  constructor(container, channelId, serverId) {
    this.container = container;
    this.channelId = channelId;
    this.serverId = serverId;
    this.channel = store.channel(channelId);
    this.cleanup = [];
  }

  destroy() {
    this.destroyed = true;
    this.cleanup.forEach((fn) => fn());
    this.composer?.destroy();
    this.model?.destroy();
    if (store.openChannelId === this.channelId) store.openChannelId = null;
  }

  get server() {
    return this.serverId ? store.server(this.serverId) : null;
  }

  can(flag) {
    return !this.serverId || has(this.server?.my_permissions, flag);
  }

  title() {
    return this.serverId ? decodeMeta(this.channel.encrypted_meta, "channel").name : store.dmTitle(this.channel);
  }

  async start() {
    if (!this.channel && !this.serverId) {
      // A conversation just created or joined (a link, a group one was added to): ask once.
      await store.loadDms().catch(() => {});
      if (this.destroyed) return;
      this.channel = store.channel(this.channelId);
    }
    if (!this.channel) {
      mount(this.container, h("div", { class: "empty" }, navToggle(), h("p", { class: "error", role: "alert" }, "This conversation does not exist or you cannot see it."),
        h("a", { href: "#/channels/@me", class: "button-link" }, "Back to your conversations")));
      return;
    }
    store.openChannelId = this.channelId;
    notifier.read(this.channelId);
    this.label = this.serverId ? `#${this.title()}` : this.title();
    this.model = new Conversation(this.channelId, this.serverId);
    const flash = (text, error) => this.flash(text, error);
    this.timeline = new Timeline({ model: this.model, serverId: this.serverId, channelId: this.channelId, label: this.label, can: (f) => this.can(f),
      reply: (m) => this.composer.setReply(m), flash, escape: () => this.escape(), afterEdit: () => this.composer.focus(), mentionables: () => this.composer.mentionables() });
    this.composer = new Composer({ model: this.model, serverId: this.serverId, channelId: this.channelId, label: this.label, can: (f) => this.can(f), flash,
      timeline: this.timeline, escape: () => this.escape(), confirmKeyChanges: () => this.confirmKeyChanges() });
    this.build();
    const onModel = (type, fn) => {
      this.model.addEventListener(type, fn);
      this.cleanup.push(() => this.model.removeEventListener(type, fn));
    };
    onModel("change", (e) => this.timeline.render(e.detail.scroll));
    onModel("typing", () => this.drawTyping());
    onModel("notice", (e) => this.flash(e.detail.text, e.detail.error));
    const rerender = () => this.model.loaded && this.timeline.render();
    this.cleanup.push(store.on("link", rerender), store.on("images", rerender), store.on("keychange", () => {
      this.drawKeyNotice();
      rerender();
    }), store.on("timeouts", () => {
      this.composer.updateAccess();
      rerender();
    }), store.on("servers", () => this.composer.updateAccess()), this.watchMute());
    if (!this.serverId) this.cleanup.push(store.on("dms", () => this.retitle())); // a group renamed
    if (this.serverId) this.cleanup.push(customEmojis.on(this.serverId, rerender));
    const onVisible = () => !document.hidden && this.model.markRead();
    document.addEventListener("visibilitychange", onVisible);
    this.cleanup.push(() => document.removeEventListener("visibilitychange", onVisible));
    this.drawKeyNotice();
    this.model.load().catch((failure) => !this.model.destroyed && this.timeline.failed(failure.message));
  }

  build() {
    const meta = this.serverId ? decodeMeta(this.channel.encrypted_meta, "channel") : {};
    this.notice = h("p", { class: "notice", role: "alert", hidden: true });
    this.keyNotice = h("div", { class: "key-notice", id: "key-notice", hidden: true });
    this.typingLine = h("p", { class: "typing muted small", "aria-live": "polite" });
    this.muteButton = h("button", { type: "button", class: "icon-button", id: "mute-channel", onclick: () => notifier.setMuted(this.channelId, !notifier.isMuted(this.channelId)) });
    this.drawMute();
    const tools = [
      h("button", { type: "button", class: "icon-button", id: "pins-button", "aria-label": "Pinned messages", title: "Pinned messages", onclick: () => this.showPins() }, icon("pin", 20)),
      this.muteButton,
    ];
    if (!this.serverId && ["dm", "group"].includes(this.channel.channel_type) && store.features.has("voice")) {
      tools.push(h("button", { type: "button", class: "icon-button", id: "call-button", "aria-label": "Start a voice call", title: "Start a voice call", onclick: () => {
        try {
          calls.start(this.channelId);
        } catch (failure) {
          this.flash(failure.message, true);
        }
      } }, icon("phone", 20)));
    }
    if (this.channel.channel_type === "group") tools.push(...groupTools(this.channel, (text, error) => this.flash(text, error)));
    if (this.serverId || this.channel.channel_type === "group") {
      tools.push(h("button", { type: "button", class: "icon-button members-toggle", id: "members-toggle", "aria-label": "Members", title: "Members",
        onclick: toggleMembers }, icon("users", 20)));
    }
    const head = h("header", { class: "chat-head" },
      navToggle(),
      this.titleNode = h("h2", { id: "chat-title" }, this.label),
      meta.topic ? h("span", { class: "topic muted" }, meta.topic) : null,
      h("span", { class: "e2ee-badge", title: "Messages here are end-to-end encrypted: the server stores only ciphertext" }, icon("lock", 14), " encrypted"),
      h("div", { class: "chat-tools" }, tools));
    const voice = this.channel.channel_type === "voice" ? h("div", { class: "voice-panel", id: "voice-panel" }) : null;
    if (voice) this.cleanup.push(renderVoicePanel(voice, this.channel, this.server));
    const requestBar = this.channel.dm_status === "pending" ? this.dmRequestBar() : null;
    const root = h("div", { class: "chat", dataset: { channelId: this.channelId } }, head, voice, requestBar, this.keyNotice, this.notice,
      this.timeline.list, this.timeline.jumpBar, this.typingLine, this.composer.element);
    this.composer.wireDrop(root);
    mount(this.container, root);
    this.composer.focus();
  }

  /** A DM's title follows the list (a group renamed here or by someone else, names loaded). */
  retitle() {
    this.channel = store.channel(this.channelId) || this.channel;
    const title = this.title();
    if (this.titleNode.textContent !== title) this.titleNode.textContent = title;
  }

  watchMute() {
    const draw = () => this.drawMute();
    notifier.addEventListener("change", draw);
    return () => notifier.removeEventListener("change", draw);
  }

  drawMute() {
    const muted = notifier.isMuted(this.channelId);
    this.muteButton.setAttribute("aria-pressed", String(muted));
    this.muteButton.setAttribute("aria-label", muted ? "Unmute this conversation" : "Mute this conversation");
    this.muteButton.title = muted ? "Muted: no notifications from here" : "Mute notifications from here";
    mount(this.muteButton, icon(muted ? "bellOff" : "bell", 20));
  }

  /** Escape: back to the newest message, the conversation marked read. */
  escape() {
    this.timeline.jumpToPresent();
    this.model.markRead();
    notifier.read(this.channelId);
    this.composer.focus();
  }

  dmRequestBar() {
    const bar = h("div", { class: "request-bar" }, h("span", {}, "This conversation is a message request."));
    for (const action of ["accept", "decline"]) {
      bar.append(h("button", { type: "button", class: action === "accept" ? "small" : "small secondary", onclick: async () => {
        try {
          await api("POST", `/dm/${this.channelId}/request`, { action });
          bar.replaceChildren(h("span", {}, action === "accept" ? "Request accepted." : "Request declined."));
          store.loadDms().catch(() => {});
        } catch (failure) {
          this.flash(failure.message, true);
        }
      } }, action === "accept" ? "Accept" : "Decline"));
    }
    return bar;
  }

  /** The people of a DM or group DM whose identity key changed and who were not checked since. */
  changedContacts() {
    if (this.serverId) return [];
    const others = (store.dmMembers.get(this.channelId) || []).map((m) => m.user_id).filter((id) => id !== store.me.id);
    return others.filter((id) => store.crypto.trust.changes(id).length);
  }

  /** A lasting notice (until acknowledged or verified) that a contact's key changed. */
  drawKeyNotice() {
    const changed = this.changedContacts();
    this.keyNotice.hidden = !changed.length;
    mount(this.keyNotice, changed.map((id) => {
      const when = store.crypto.trust.changes(id).at(-1).at;
      const name = this.model?.names?.name(id) || store.dmTitle(this.channel);
      return h("p", { class: "warn", role: "alert", dataset: { userId: id } },
        `⚠ ${name}'s security key changed on ${new Date(when).toLocaleString()}. They may have a new device or browser, or someone may be impersonating them. `,
        h("button", { type: "button", class: "small", dataset: { action: "safety-number" }, onclick: () => showSafetyNumber(id, () => this.drawKeyNotice()) }, "Compare safety numbers"), " ",
        h("button", { type: "button", class: "small secondary", dataset: { action: "dismiss-key-change" }, onclick: () => {
          store.crypto.trust.acknowledge(id);
          this.drawKeyNotice();
          this.timeline.render();
        } }, "Dismiss"));
    }));
  }

  flash(text, isError = false) {
    this.notice.hidden = false;
    this.notice.className = isError ? "notice error" : "notice";
    this.notice.textContent = text;
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => { this.notice.hidden = true; }, 6000);
  }

  drawTyping() {
    const names = [...this.model.typing.values()].map((t) => t.name);
    this.typingLine.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }

  /**
   * Before sending to someone whose identity key changed after it was verified: say so, and send
   * only if the writer confirms (the verification is then dropped until checked again).
   */
  async confirmKeyChanges() {
    const ids = await store.crypto.verifiedLostIn(this.channelId).catch(() => []);
    if (!ids.length) return true;
    const names = ids.map((id) => this.model.names.name(id) || "someone").join(", ");
    return new Promise((resolve) => {
      const modal = confirmModal("Security key changed", `The security key of ${names} changed since you verified it. Someone may be impersonating them, or they set up a new device. Compare safety numbers before you send anything sensitive.`, "Send anyway", async () => {
        ids.forEach((id) => store.crypto.trust.acknowledge(id));
        resolve(true);
      });
      modal.dialog.addEventListener("close", () => resolve(false));
    });
  }

  async showPins() {
    const modal = openModal("Pinned messages", h("p", { class: "muted" }, "Loading…"));
    try {
      const pins = await api("GET", `/channels/${this.channelId}/pins`);
      const items = [];
      for (const m of pins) {
        const result = await this.model.decrypt(m);
        const ok = result.status === "ok";
        items.push(h("li", { class: "pin" },
          h("strong", {}, ok ? this.model.names.name(result.senderId) || "Unknown" : "Unknown"), " ",
          h("span", {}, ok ? `${String(result.content.text ?? "")}${attachmentsOf(result.content).length ? " (attachment)" : ""}` : "(cannot decrypt)"),
          h("time", { class: "muted small" }, ` ${formatTime(m.timestamp)}`),
          store.realtime.live && (!this.serverId || this.can(P.MANAGE_MESSAGES) || result.senderId === store.me.id) ? h("button", { type: "button", class: "small secondary", onclick: () => {
            this.model.pin(m.id, true);
            modal.close();
          } }, "Unpin") : null));
      }
      mount(modal.body, items.length ? h("ul", { class: "pins" }, items) : h("p", { class: "muted" }, "No pinned messages yet. Pin one from its actions."));
    } catch (failure) {
      mount(modal.body, h("p", { class: "error", role: "alert" }, failure.message));
    }
  }
}
