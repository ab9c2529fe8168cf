// The reporter hears how each of their reports ended (docs/moderation.md): ReportResolved, live or
// replayed on resume (routed here by dispatch.js), becomes one notice per report in this tab; at
// sign-in, the decisions made while this browser was not listening are told too (at most three).
// `reportOutcomes.on(fn)` fires when a report was filed or decided (the Settings list reloads).

import { api } from "./api.js";
import { newlyResolved, resolvedNotice } from "./reports.js";

class ReportOutcomes {
  constructor() {
    this.bus = new EventTarget();
    this.stop();
  }

  /**
   * Signed in as `userId`: `placeName(channelId)` names where a reported message was ("#general in
   * Daily"), `tell(text)` shows the user a notice.
   */
  start({ userId, placeName, tell }) {
    this.userId = userId;
    this.placeName = placeName;
    this.tell = tell;
  }

  stop() {
    this.userId = null;
    this.told = new Set(); // report ids whose decision was told in this tab
  }

  on(fn) {
    this.bus.addEventListener("change", fn);
    return () => this.bus.removeEventListener("change", fn);
  }

  emit() {
    this.bus.dispatchEvent(new Event("change"));
  }

  /** When this browser last heard a decision (ms since the epoch), kept per account. */
  get seenKey() {
    return `haven.reportsSeen.${this.userId}`;
  }

  /** A report was filed here: from now on this browser tells its decision even if it comes while closed. */
  filed() {
    if (!localStorage.getItem(this.seenKey)) localStorage.setItem(this.seenKey, String(Date.now()));
    this.emit();
  }

  /** ReportResolved (live, or replayed on resume): tell the reporter what was done. */
  resolved(report) {
    if (!this.told.has(report.report_id)) {
      this.told.add(report.report_id);
      this.tell(resolvedNotice(report, this.placeName(report.channel_id)));
    }
    const seen = Number(localStorage.getItem(this.seenKey)) || 0;
    localStorage.setItem(this.seenKey, String(Math.max(seen, Date.parse(report.resolved_at) || 0)));
    this.emit();
  }

  /** At start: the decisions made while this browser was not listening (at most three told). */
  async catchUp() {
    const stored = localStorage.getItem(this.seenKey);
    const reports = await api("GET", "/reports?limit=20");
    const { fresh, seenAt } = newlyResolved(reports, stored === null ? null : Number(stored));
    localStorage.setItem(this.seenKey, String(seenAt));
    for (const report of fresh.slice(-3)) this.resolved({ ...report, report_id: report.id });
  }
}

export const reportOutcomes = new ReportOutcomes();
