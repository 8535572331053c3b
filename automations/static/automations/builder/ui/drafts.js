// The draft on the server: the server's validation of what is on screen, Save draft (naming the
// revision it is based on), the conflict when someone saved since, Activate, Pause / Resume, and
// Restore of a version or a revision.

import { placeErrors } from "../state/problems.js";
import { clone } from "../state/tree.js";
import { describeConflict } from "./conflict_dialog.js";
import { announce } from "./dom.js";
import { templateSaved } from "./unsaved_template.js";

// What a refused operation's notice starts with.
const REFUSED = { save: "Not saved", activate: "Not activated", restore: "Not restored" };
// Notices about the draft on the server that a save, a reload or an activation settles: a refusal
// because someone saved since, and what a reload did.
// Once saved, unsaved changes brought back from this browser are no longer there to discard.
const SETTLED_BY_A_SAVE = ["conflict", "reloaded", "restored"];

export class Drafts {
  constructor(app) {
    this.app = app;
    this.validation = { timer: null, sequence: 0 };
  }

  validateSoon(wait = 400) {
    clearTimeout(this.validation.timer);
    this.validation.timer = setTimeout(() => this.validate(), wait);
  }

  async validate() {
    const { app } = this;
    const sequence = ++this.validation.sequence;
    const definition = app.definition();
    try {
      const answer = await app.api.post(app.automationPath("validate"), definition);
      if (sequence !== this.validation.sequence) return;
      app.state.placed = placeErrors(definition, answer.errors);
      app.state.warned = placeErrors(definition, answer.warnings || []);
    } catch (error) {
      if (sequence !== this.validation.sequence) return;
      app.state.placed = placeErrors(definition, error.errors?.length ? error.errors
        : [{ field: "", message: error.message }]);
    }
    app.render();
    // Says "the server has checked what is on screen" (tests and scripts wait for it).
    app.root.dataset.validated = String(sequence);
  }

  /** Save what is on screen as the draft, based on ``revision`` (the one read or last saved; the
   *  newer one, to overwrite it). Resolves whether it was saved. */
  async save({ revision = this.app.state.revision } = {}) {
    const { app } = this;
    const { state } = app;
    if (!app.canEdit || state.busy) return false;
    state.busy = true;
    app.toolbar.update("Saving…");
    const definition = app.definition();
    let conflict = null;
    try {
      const automation = state.automation
        ? await app.api.put(`automations/${state.automation.id}/`, definition, revision)
        : app.template
          ? await app.api.post(`templates/${encodeURIComponent(app.template.key)}/instantiate/`, { definition })
          : await app.api.post("automations/", definition);
      const fresh = !state.automation;
      if (fresh) app.local.forget();
      if (fresh && app.template) await templateSaved(app);
      state.automation = automation;
      state.revision = automation.revision;
      state.saved = clone(definition);
      state.placed = placeErrors(definition, []);
      app.notices.clear("error", ...SETTLED_BY_A_SAVE);
      if (fresh) {
        window.history.replaceState(null, "", app.config.urls.builder.replace("/0/", `/${automation.id}/`));
        app.config.automationId = automation.id;
        app.panel.render();
      }
      app.local.persist();
      announce(`Draft saved as version ${automation.draft_version}.`);
      if (state.tab === "versions") app.renderPanel();
      return true;
    } catch (error) {
      if (error.stale) {
        conflict = error.errors[0];
      } else {
        const errors = error.errors || [{ field: "", message: error.message }];
        state.placed = placeErrors(definition, errors);
        app.notices.show(`Not saved: ${errors.length} problem${errors.length === 1 ? "" : "s"}. Your changes stay here (and in this browser) until you fix or discard them.`, "error");
      }
    } finally {
      state.busy = false;
      app.render();
    }
    return this.resolveConflict(conflict, "save", (newer) => this.save({ revision: newer }));
  }

  /** After a save, an activation or a restore refused as stale: say who saved what and when, and
   *  do what the operator chooses — ``again(revision)`` does it over their newer revision. The
   *  notice stays while the conflict does, and goes once it is resolved (reloaded, or written
   *  over). Resolves whether what was asked for ended up done. */
  async resolveConflict(conflict, action, again) {
    const { app } = this;
    if (!conflict) return false;
    const what = `${REFUSED[action]}: ${describeConflict(conflict)}, after you opened this draft.`;
    app.notices.show(what, "conflict");
    announce(what);
    const answer = await app.conflictDialog.ask(conflict, { action });
    if (answer === "overwrite") return again(conflict.revision);
    if (answer === "reload") {
      await this.reload(`Reloaded the draft ${conflict.author || "someone else"} saved.`);
      app.notices.show(`Reloaded: ${describeConflict(conflict)}. Your unsaved changes were dropped.`, "reloaded");
      return false;
    }
    announce("Nothing saved: your changes stay here.");
    return false;
  }

  async activate() {
    const { app } = this;
    const { state } = app;
    if (app.dirty && !(await this.save())) return;
    const automation = state.automation;
    if (!automation?.draft_version) return;
    const live = Object.entries(automation.live_executions || {});
    const count = live.reduce((sum, [, n]) => sum + n, 0);
    const confirmed = await app.toolbar.confirm(
      `Activate version ${automation.draft_version}?`,
      `New runs will start on version ${automation.draft_version}. `
        + (count ? `${count === 1 ? "1 live execution stays on the version it" : `${count} live executions stay on the versions they`} `
          + `started on (${live.map(([version, n]) => `v${version}: ${n}`).join(", ")}) and finish there.`
          : "No execution is running or waiting now."),
      `Activate version ${automation.draft_version}`,
      // What the builder flagged to check (another live automation on the same event, say) is
      // named again where it goes live.
      app.state.warned.list.map((warning) => warning.message));
    if (!confirmed) return;
    let conflict = null;
    try {
      // The revision on screen: a draft saved since, which nobody here has seen, is not activated.
      state.automation = await app.api.post(`automations/${automation.id}/activate/`, { revision: state.revision });
      state.revision = state.automation.revision;
      announce(`Version ${state.automation.active_version} is active.`);
      app.notices.clear("error", ...SETTLED_BY_A_SAVE, "saved-over");
      app.notices.show(`Version ${state.automation.active_version} is active.`, "success");
    } catch (error) {
      if (error.stale) {
        conflict = error.errors[0];
      } else {
        if (error.errors) state.placed = placeErrors(app.definition(), error.errors);
        app.notices.show(`Not activated: ${error.message}`, "error");
      }
    }
    app.render();
    if (state.tab === "versions") app.renderPanel();
    // Overwrite saves mine over theirs; activating it stays the operator's own next step.
    if (conflict && await this.resolveConflict(conflict, "activate", (newer) => this.save({ revision: newer }))) {
      app.notices.show("Your draft is saved over theirs. Activate it when you are ready.", "saved-over");
    }
  }

  async pauseOrResume() {
    const { app } = this;
    const { state } = app;
    const verb = state.automation.is_paused ? "resume" : "pause";
    try {
      state.automation = await app.api.post(`automations/${state.automation.id}/${verb}/`);
      const live = Object.values(state.automation.live_executions || {}).reduce((sum, n) => sum + n, 0);
      announce(state.automation.is_paused
        ? `Paused: no new runs start; the ${live} running or waiting carry on.` : "Resumed: new runs start again.");
      app.notices.show(state.automation.is_paused
        ? `Paused: triggers start no new runs; the ${live} run${live === 1 ? "" : "s"} already under way carry on.`
        : "Resumed: triggers start runs again.", "paused");
    } catch (error) {
      app.notices.show(error.message, "error");
    }
    app.render();
  }

  /** Take the draft as the server has it now. Undo starts again from it: nothing undone across a
   *  reload can be saved over someone else's newer draft under the revision read now. */
  async reload(message) {
    const { app } = this;
    const { state } = app;
    state.automation = await app.api.get(`automations/${state.automation.id}/`);
    state.revision = state.automation.revision;
    const server = state.automation.draft_definition || state.automation.active_definition;
    state.saved = clone(server);
    app.startOver(server);
    app.notices.clear(...SETTLED_BY_A_SAVE);
    app.afterHistory(message);
  }

  async restoreVersion(number) {
    const replace = `Restore version ${number} into the draft?`;
    if (!(await this.confirmDropping(replace, `Restore version ${number}`))) return;
    await this.restore(`versions/${number}/restore/`, `Version ${number} restored into the draft.`);
  }

  async restoreRevision(id) {
    if (!(await this.confirmDropping("Restore this revision into the draft?", "Restore the revision"))) return;
    await this.restore(`revisions/${id}/restore/`, "Revision restored into the draft.");
  }

  /** An experiment decided: the draft with the split ``step`` replaced by its ``variant``'s steps. */
  async keepVariant(step, variant) {
    const name = `variant ${variant.toUpperCase()}`;
    if (!(await this.confirmDropping(`Keep ${name} of ${step} in the draft?`, `Keep ${name}`))) return;
    await this.restore("keep-variant/", `The draft keeps ${name} in place of ${step}: review it, then activate it.`,
      this.app.state.revision, { step, variant });
  }

  /** Unsaved changes on screen are replaced by a restore: ask first. */
  confirmDropping(title, action) {
    if (!this.app.dirty) return Promise.resolve(true);
    return this.app.toolbar.confirm(title, "Your unsaved changes here are dropped: the draft becomes what you restore.",
      action);
  }

  /** POST a restore (``path`` under the automation, with ``body``) based on ``revision``, then show
   *  the draft. */
  async restore(path, message, revision = this.app.state.revision, body = {}) {
    const { app } = this;
    try {
      await app.api.post(`automations/${app.state.automation.id}/${path}`, body, revision);
    } catch (error) {
      if (error.stale) {
        return this.resolveConflict(error.errors[0], "restore", (newer) => this.restore(path, message, newer, body));
      }
      app.notices.show(`Not restored: ${error.message}`, "error");
      return false;
    }
    await this.reload(message);
    announce(message);
    return true;
  }
}
