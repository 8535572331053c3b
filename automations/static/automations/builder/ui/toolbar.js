// The builder's toolbar: the automation's name and state, Undo / Redo, Save draft, Test,
// Activate (disabled with its reason while there are problems), Pause / Resume, the problems
// list, and the confirmation dialog for activation.

import { canRedo, canUndo } from "../state/history.js";
import { problemPlace } from "../state/labels.js";
import { h } from "./dom.js";
import { closePopover, openPopover } from "./menus.js";

function button(label, onclick, extra = {}) {
  return h("button", { type: "button", class: `button ${extra.class || ""}`.trim(), onclick, ...extra.attrs }, label);
}

function stateLine(automation, template) {
  if (!automation) return template ? `new, from ${template.title}, not saved yet` : "new, not saved yet";
  if (!automation.active_version) return `draft v${automation.draft_version}, never activated`;
  const live = `${automation.is_paused ? "paused" : "active"}: v${automation.active_version}`;
  return automation.draft_version ? `${live} · draft v${automation.draft_version} in progress` : live;
}

export class Toolbar {
  constructor(app) {
    this.app = app;
    this.title = h("h2", { class: "ab-title" });
    this.state = h("span", { class: "ab-state" });
    this.saveState = h("span", { class: "ab-save-state", role: "status" });
    this.undoButton = button("Undo", () => app.undo(), { attrs: { "aria-keyshortcuts": "Control+Z", title: "Undo (Ctrl+Z)" } });
    this.redoButton = button("Redo", () => app.redo(), { attrs: { "aria-keyshortcuts": "Control+Shift+Z", title: "Redo (Ctrl+Shift+Z)" } });
    this.saveButton = button("Save draft", () => app.drafts.save(), { class: "default", attrs: { "aria-keyshortcuts": "Control+S" } });
    this.testButton = button("Test", () => app.tests.run());
    this.activateWhy = h("span", { id: "ab-activate-why", class: "ab-why" });
    this.activateButton = button("Activate", () => this.onActivate(), { attrs: { "aria-describedby": "ab-activate-why" } });
    this.pauseButton = button("Pause", () => app.drafts.pauseOrResume());
    this.problemsButton = button("", () => this.showProblems(), { class: "ab-problems-button", attrs: { "aria-haspopup": "dialog" } });
    this.settingsButton = button("Settings", () => app.select("settings"), { attrs: { title: "Name, what a run is about, starting again, the events that end a run, retries" } });
    this.element = h("div", { class: "ab-toolbar" },
      h("div", { class: "ab-heading" }, this.title, this.state),
      h("div", { class: "ab-toolbar-status" }, this.saveState, this.activateWhy),
      h("div", { class: "ab-actions", role: "group", "aria-label": "Builder actions" },
        this.undoButton, this.redoButton, this.settingsButton, this.saveButton, this.testButton,
        this.activateButton, this.pauseButton, this.problemsButton));
    this.dialog = h("dialog", { class: "ab-dialog", "aria-labelledby": "ab-dialog-title" });
    document.body.append(this.dialog);
  }

  /** Why Activate cannot be used now, or "" when it can. */
  activateBlocker() {
    const { app } = this;
    const problems = app.state.placed.list.length;
    if (!app.permissions.change) return "Activating needs the permission to change automations.";
    if (problems) return `Activate is off: fix the ${problems} problem${problems === 1 ? "" : "s"} first.`;
    if (!app.dirty && !app.state.automation?.draft_version) return "Nothing to activate: no draft differs from the active version.";
    if (app.sameAsActive) return `Nothing to activate: the draft is the same as active version ${app.state.automation.active_version}.`;
    return "";
  }

  update(status) {
    const { app } = this;
    const automation = app.state.automation;
    const definition = app.definition();
    this.title.textContent = definition.name || "(unnamed automation)";
    this.state.textContent = stateLine(automation, app.template);
    const editable = app.canEdit;
    for (const [element, enabled] of [[this.undoButton, editable && canUndo(app.state.history)],
                                      [this.redoButton, editable && canRedo(app.state.history)],
                                      [this.saveButton, editable && (app.dirty || !automation)]]) {
      element.disabled = !enabled;
    }
    for (const element of [this.undoButton, this.redoButton, this.saveButton, this.activateButton, this.pauseButton]) {
      element.hidden = !editable;
    }
    const blocker = this.activateBlocker();
    this.activateButton.disabled = Boolean(blocker);
    this.activateWhy.textContent = editable ? blocker : "";
    this.pauseButton.hidden = !editable || !automation?.active_version;
    this.pauseButton.textContent = automation?.is_paused ? "Resume" : "Pause";
    const problems = app.state.placed.list.length;
    const warnings = app.state.warned.list.length;
    this.problemsButton.textContent = `${problems} problem${problems === 1 ? "" : "s"}`;
    this.problemsButton.title = warnings ? `and ${warnings} thing${warnings === 1 ? "" : "s"} to check` : "";
    this.problemsButton.classList.toggle("has-problems", problems > 0);
    this.saveState.textContent = status || (!editable ? "Read only" : app.dirty ? "Unsaved changes" : "All changes saved");
  }

  async onActivate() {
    if (!this.activateBlocker()) await this.app.drafts.activate();
  }

  showProblems() {
    const { app } = this;
    const item = (problem) => h("li", {},
      h("button", { type: "button", class: "ab-problem", onclick: () => {
        closePopover();
        app.goToProblem(problem);
      } }, h("strong", {}, problemPlace(problem)), `: ${problem.message}`));
    const list = app.state.placed.list;
    const warnings = app.state.warned.list;
    const warningList = warnings.length ? [h("p", { class: "ab-popover-title" }, "Worth a check (saving is not stopped)"),
      h("ol", { class: "ab-problem-list" }, warnings.map(item))] : [];
    const content = list.length ? h("ol", { class: "ab-problem-list" }, list.map(item))
      : h("p", {}, "No problems: the server accepts this definition.");
    const popover = openPopover(this.problemsButton, "Problems",
      [h("p", { class: "ab-popover-title" }, "Problems"), content, ...warningList]);
    (popover.querySelector("button") || popover).focus();
  }

  /** A modal confirmation; resolves true when confirmed. ``checks``: things worth a check before
   *  confirming, listed under the text. */
  confirm(title, text, action, checks = []) {
    return new Promise((resolve) => {
      const done = (answer) => {
        this.dialog.close();
        resolve(answer);
      };
      this.dialog.replaceChildren(
        h("h2", { id: "ab-dialog-title" }, title), h("p", {}, text),
        ...(checks.length ? [h("ul", { class: "ab-dialog-checks" }, checks.map((check) => h("li", {}, `Check: ${check}`)))] : []),
        h("div", { class: "ab-popover-buttons" },
          button(action, () => done(true), { class: "default" }),
          h("button", { type: "button", class: "ab-link-button", onclick: () => done(false) }, "Cancel")));
      this.dialog.addEventListener("cancel", () => resolve(false), { once: true });
      this.dialog.showModal();
      this.dialog.querySelector("button").focus();
    });
  }
}
