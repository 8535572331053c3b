// Outcomes on the flow: how many runs wait at each step now and what share of the period's runs
// reached it, on the cards, for the period and version chosen in the bar above the flow (the
// figures come from GET automations/{id}/stats/, read from tallies the server keeps as runs move).

import { figuresLine, figuresSummary } from "../state/figures.js";
import { h } from "./dom.js";

const PERIODS = [[7, "Last 7 days"], [30, "Last 30 days"], [90, "Last 90 days"]];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export class FiguresBar {
  constructor(app) {
    this.app = app;
    this.days = 30;
    this.version = "";
    this.figures = null;
    this.versions = [];
    this.element = h("div", { class: "ab-figures-bar", role: "group", "aria-label": "Figures on the flow" });
  }

  /** Whether there is anything to count: an automation that has been saved. */
  get shown() { return Boolean(this.app.state.automation); }

  /** Fetch the figures and draw them; ``redraw: false`` leaves the flow to the caller (the page's
   *  first drawing waits for them, so nothing moves under the pointer once it is shown). */
  async load({ redraw = true } = {}) {
    if (!this.shown) return;
    this.render();
    const id = this.app.state.automation.id;
    // The period ends on the server's today (its clock, not this browser's): the first answer,
    // asked without one, says which day that is.
    const query = new URLSearchParams();
    if (this.today) {
      const from = new Date(Date.parse(`${this.today}T00:00:00Z`) - (this.days - 1) * 86400000);
      query.set("from", isoDay(from));
      query.set("to", this.today);
    }
    if (this.version) query.set("version", this.version);
    try {
      if (!this.versions.length) {
        this.versions = (await this.app.api.listAll(`automations/${id}/versions/`)).map((item) => item.number);
      }
      this.figures = await this.app.api.get(`automations/${id}/stats/?${query}`);
      this.today = this.figures.to;
      this.error = null;
    } catch (error) {
      this.figures = null;
      this.error = error.message;
    }
    this.render();
    if (this.app.state.tab === "outcomes") this.app.renderPanel();
    if (redraw && !this.app.dragging) this.app.render();
  }

  /** The bar's controls are made once (a redraw would take the keyboard's focus from them); the
   *  versions and the summary are brought up to date. */
  render() {
    if (!this.shown) {
      this.element.replaceChildren();
      return;
    }
    if (!this.controls) this.controls = this.makeControls();
    const { version, summary } = this.controls;
    const numbers = [...version.options].slice(1).map((option) => Number(option.value));
    if (numbers.join() !== this.versions.join()) {
      version.replaceChildren(h("option", { value: "" }, "All versions"),
        ...this.versions.map((number) => h("option", { value: String(number) }, `v${number}`)));
      version.value = this.version;
    }
    summary.textContent = this.summary();
  }

  makeControls() {
    const period = h("select", { class: "ab-figures-period", "aria-label": "Period of the figures" },
      PERIODS.map(([days, label]) => h("option", { value: String(days), selected: days === this.days }, label)));
    period.addEventListener("change", () => { this.days = Number(period.value); this.load(); });
    const version = h("select", { class: "ab-figures-version", "aria-label": "Version counted" },
      h("option", { value: "" }, "All versions"));
    version.addEventListener("change", () => { this.version = version.value; this.load(); });
    const summary = h("span", { class: "ab-figures-summary", "aria-live": "polite" });
    this.element.replaceChildren(h("span", { class: "ab-figures-title" }, "Runs on the flow"), period, version, summary);
    return { period, version, summary };
  }

  summary() {
    if (this.error) return `The figures could not be loaded: ${this.error}`;
    if (!this.figures) return "Loading…";
    return figuresSummary(this.figures, Boolean(this.app.definition().exit_on?.length));
  }

  /** The line on a step's card (none on the trigger's and the conditions'). */
  lineFor(key) {
    if (!this.figures || key === "trigger" || key === "conditions") return null;
    return figuresLine(this.figures, key);
  }
}
