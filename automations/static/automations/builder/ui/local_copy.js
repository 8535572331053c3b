// Nothing typed is lost: unsaved changes are kept in this browser (with the draft revision they
// were made on) and offered back when the page opens again, until they are saved or discarded.

import { clone, stableJSON } from "../state/tree.js";
import { h } from "./dom.js";

export class LocalCopy {
  constructor(app) {
    this.app = app;
  }

  /** Where this page keeps its copy: per automation, or per new automation (blank or a template). */
  get key() {
    const { app } = this;
    const id = app.state.automation?.id || app.config.automationId;
    return `billing-automations:builder:${id || (app.template ? `new:${app.template.key}` : "new")}`;
  }

  /** Offer back what was left unsaved here on top of ``server`` (the definition just loaded). */
  restore(server) {
    const { app } = this;
    let stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(this.key) || "null");
    } catch {
      stored = null;
    }
    if (!stored?.definition || stableJSON(stored.definition) === stableJSON(server)) return;
    app.record(stored.definition);
    // Those changes were made on the revision read then: saving them over a newer one asks first.
    if (stored.revision) app.state.revision = stored.revision;
    app.notices.show(`Your unsaved changes from ${new Date(stored.at).toLocaleString()} are back.`, "restored",
      h("button", { type: "button", class: "button", onclick: () => this.discard() }, "Discard them"));
  }

  /** Keep what is on screen while it differs from what is saved (or, before the first save, from
   *  where it started); forget it once saved. */
  persist() {
    const { app } = this;
    if (app.canEdit && stableJSON(app.definition()) !== stableJSON(app.state.saved ?? app.origin)) {
      localStorage.setItem(this.key, JSON.stringify({ definition: app.definition(), at: Date.now(),
                                                      revision: app.state.revision }));
    } else {
      this.forget();
    }
  }

  forget() {
    localStorage.removeItem(this.key);
  }

  /** Back to what is saved (or where a new automation starts). */
  discard() {
    const { app } = this;
    app.record(clone(app.state.saved ?? app.origin));
    this.persist();
    app.notices.clear();
    app.afterEdit("Unsaved changes discarded.");
    app.renderPanel();
  }
}
