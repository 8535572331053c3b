// The side panel: tabs Edit (the selected card's form), Test, Backtest, Outcomes, Versions and JSON. The Edit form
// is drawn when the selection changes (not on every keystroke, so typing keeps its cursor); the
// server's errors are placed beside its fields after each validation.

import { stepTypeLabel, summarizeStep } from "../state/summary.js";
import { h, pretty } from "./dom.js";
import { showErrors } from "./fields.js";
import { conditionsForm, settingsForm, triggerForm } from "./settings_forms.js";
import { stepForm } from "./step_forms.js";
import { backtestPanel } from "./backtest_panel.js";
import { outcomesPanel } from "./outcomes_panel.js";
import { testPanel } from "./test_panel.js";
import { versionsPanel } from "./versions_panel.js";

const TABS = [["edit", "Edit"], ["test", "Test"], ["backtest", "Backtest"], ["outcomes", "Outcomes"],
              ["versions", "Versions"], ["json", "JSON"]];
const TITLES = { trigger: "Trigger", conditions: "Entry conditions", settings: "Automation settings" };

export class Panel {
  constructor(app) {
    this.app = app;
    this.tabs = h("div", { class: "ab-tabs", role: "tablist", "aria-label": "Panel" });
    this.body = h("div", { class: "ab-panel-body", role: "tabpanel", id: "ab-panel-body" });
    this.element = h("aside", { class: "ab-panel", "aria-label": "Side panel" }, this.tabs, this.body);
    // Leaving a field ends its undo step; Escape goes back to the card being edited.
    this.body.addEventListener("focusout", () => this.app.sealHistory());
    this.body.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented && this.app.state.tab === "edit") {
        this.app.focusCard(this.app.state.selected);
      }
    });
    this.tabs.addEventListener("keydown", (event) => {
      if (!["ArrowLeft", "ArrowRight"].includes(event.key)) return;
      const names = TABS.map(([name]) => name);
      const at = names.indexOf(this.app.state.tab);
      const next = names[(at + (event.key === "ArrowRight" ? 1 : -1) + names.length) % names.length];
      this.app.setTab(next);
      this.tabs.querySelector(`[data-tab="${next}"]`).focus();
    });
  }

  renderTabs() {
    const current = this.app.state.tab;
    this.tabs.replaceChildren(...TABS.map(([name, label]) => h("button", {
      type: "button", role: "tab", id: `ab-tab-${name}`, "data-tab": name, "aria-controls": "ab-panel-body",
      "aria-selected": name === current ? "true" : "false", tabindex: name === current ? "0" : "-1",
      class: "ab-tab", onclick: () => this.app.setTab(name),
    }, label)));
    this.body.setAttribute("aria-labelledby", `ab-tab-${current}`);
  }

  render() {
    this.renderTabs();
    const { app } = this;
    const readOnly = !app.canEdit;
    const tab = app.state.tab;
    app.keysRenamedSincePanelDrawn.clear();  // the forms drawn now know the steps by their keys
    if (tab === "test") this.body.replaceChildren(testPanel(app));
    else if (tab === "backtest") this.body.replaceChildren(backtestPanel(app));
    else if (tab === "outcomes") this.body.replaceChildren(outcomesPanel(app));
    else if (tab === "versions") this.body.replaceChildren(versionsPanel(app));
    else if (tab === "json") this.body.replaceChildren(this.jsonTab(readOnly));
    else this.body.replaceChildren(this.editTab(readOnly));
    this.showErrors();
  }

  editTab(readOnly) {
    const { app } = this;
    const target = app.state.selected;
    if (TITLES[target]) {
      const form = { trigger: triggerForm, conditions: conditionsForm, settings: settingsForm }[target](app, readOnly);
      return h("form", { class: "ab-form", "data-target": target, onsubmit: (event) => event.preventDefault() },
        h("h3", { tabindex: "-1" }, TITLES[target]), h("ul", { class: "ab-errors ab-errors--top", "aria-live": "polite" }), form);
    }
    const step = app.step(target);
    if (!step) return h("p", { class: "ab-help" }, "Select a card to edit it.");
    return h("form", { class: "ab-form", "data-target": target, onsubmit: (event) => event.preventDefault() },
      h("h3", { tabindex: "-1" }, `${stepTypeLabel(step, app.catalog.actions)}: ${step.key}`),
      h("p", { class: "ab-help ab-form-summary" }, summarizeStep(step, app.catalog.actions, app.catalog.eventTypes, { words: true })),
      h("ul", { class: "ab-errors ab-errors--top", "aria-live": "polite" }),
      stepForm(app, step, readOnly));
  }

  jsonTab(readOnly) {
    const { app } = this;
    const area = h("textarea", { id: "ab-json", rows: 30, spellcheck: "false", readonly: readOnly, class: "ab-json" });
    area.value = pretty(app.definition());
    const errors = h("ul", { class: "ab-errors", "aria-live": "polite" });
    const apply = () => {
      try {
        const parsed = JSON.parse(area.value);
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("a definition is a JSON object");
        errors.replaceChildren();
        app.commit(parsed, { message: "JSON applied." });
      } catch (error) {
        errors.replaceChildren(h("li", {}, `Not applied: ${error.message}`));
      }
    };
    return h("div", { class: "ab-json-tab" },
      h("label", { for: "ab-json", class: "ab-label" }, "definition JSON"),
      h("p", { class: "ab-help" }, "The whole definition as the API stores it. Secrets show as ********; sent back unchanged they are kept."),
      area, errors,
      readOnly ? null : h("button", { type: "button", class: "button", onclick: apply }, "Apply JSON"));
  }

  /** Focus the open form's first field (or its title), for keyboard users arriving from a card. */
  focusForm() {
    const form = this.body.querySelector(".ab-form");
    const first = form?.querySelector("input:not([type=hidden]), select, textarea, button");
    (first || form?.querySelector("h3"))?.focus();
  }

  /** Keep the form's one-line summary in step with the card while fields change. */
  refreshSummary() {
    const line = this.body.querySelector(".ab-form-summary");
    const step = this.app.step(this.app.state.selected);
    if (line && step) line.textContent = summarizeStep(step, this.app.catalog.actions, this.app.catalog.eventTypes, { words: true });
  }

  /** Put the current problems beside the fields of the open form. */
  showErrors() {
    const form = this.body.querySelector(".ab-form");
    if (!form) return;
    const target = form.dataset.target;
    const unplaced = showErrors(form, this.app.state.placed.byTarget[target] || [],
      this.app.state.warned.byTarget[target] || []);
    form.querySelector(".ab-errors--top")?.replaceChildren(...unplaced.map((problem) =>
      h("li", { class: problem.warning ? "ab-warning" : "" },
        `${problem.warning ? "Check: " : ""}${problem.field ? `${problem.field}: ` : ""}${problem.message}`)));
  }
}
