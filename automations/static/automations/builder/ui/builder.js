// The builder: one state object (the definition's undo history plus what is selected, collapsed,
// wrong), pure edits from ../state, one render from state to DOM. What the server decides lives
// beside it: the draft's validation, saving and versions (drafts.js), test mode (test_runs.js),
// and the copy kept in this browser (local_copy.js).

import { canRedo, canUndo, createHistory, record, redo, reset, seal, undo } from "../state/history.js";
import { placeErrors } from "../state/problems.js";
import { fieldType } from "../state/conditions.js";
import { pathsAt, triggerData, variablesAt } from "../state/scope.js";
import { stepType, useStepTypes } from "../state/step_types.js";
import { useTriggerKinds } from "../state/trigger_kinds.js";
import {
  clone, findStep, getLane, insertStep, laneLabel, moveStep, newStep, renameKey, stableJSON, updateSettings,
  updateStep, walk,
} from "../state/tree.js";
import { Api } from "./api.js";
import { ConflictDialog } from "./conflict_dialog.js";
import { destroyDragAndDrop, enableDragAndDrop } from "./dnd.js";
import { announce, h } from "./dom.js";
import { Drafts } from "./drafts.js";
import { renderFlow } from "./flow.js";
import { listenToFlow } from "./flow_controls.js";
import { FiguresBar } from "./figures_bar.js";
import { flowView } from "./flow_view.js";
import { LocalCopy } from "./local_copy.js";
import { openInsertMenu } from "./menus.js";
import { Notices } from "./notices.js";
import { renderPalette } from "./palette.js";
import { Panel } from "./panel.js";
import { TestRuns } from "./test_runs.js";
import { Toolbar } from "./toolbar.js";
import { announceTemplate, startFromTemplate, templateQuery } from "./unsaved_template.js";

// A new automation asks for its event: the trigger card names what is missing until it is chosen.
const BLANK = {
  name: "New automation",
  trigger: { type: "event" },
  steps: [],
};

export class Builder {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.api = new Api(config.apiRoot, config.csrfToken);
    this.keysRenamedSincePanelDrawn = new Map();
    this.permissions = config.permissions;
    this.catalog = { eventTypes: {}, actions: {}, emailTemplates: [], secrets: [] };
    // Where a new automation starts (what "Discard" goes back to before the first save), and the
    // library template it was taken from while it is not saved (see unsaved_template.js).
    this.origin = clone(BLANK);
    this.template = null;
    this.state = {
      history: createHistory(clone(BLANK)),
      automation: null,
      // The draft revision what is on screen is based on: named in every save and activation, so
      // that one made on top of someone else's newer save is refused instead of undoing it.
      revision: null,
      saved: null,
      selected: "trigger",
      collapsed: new Set(),
      placed: placeErrors(BLANK, []),
      warned: placeErrors(BLANK, []),
      tab: "edit",
      testRun: null,
      testStale: false,
      testData: undefined,
      busy: false,
    };
    this.notices = new Notices();
    this.local = new LocalCopy(this);
    this.drafts = new Drafts(this);
    this.tests = new TestRuns(this);
  }

  // --- reading state ---------------------------------------------------------------------------

  definition() { return this.state.history.present; }

  step(key) { return findStep(this.definition(), this.currentKey(key))?.step; }

  /** The key a step has now, given the key a form on screen knew it by: a rename redraws its form
   *  only once the focus has moved on, and what is typed there before must reach the renamed step. */
  currentKey(key) { return this.keysRenamedSincePanelDrawn.get(key) ?? key; }

  get canEdit() {
    return this.state.automation ? this.permissions.change : this.permissions.add;
  }

  get dirty() {
    return this.state.saved === null || stableJSON(this.definition()) !== stableJSON(this.state.saved);
  }

  /** Whether the draft on screen is the active version itself (activating it would change nothing). */
  get sameAsActive() {
    const active = this.state.automation?.active_definition;
    return Boolean(active) && stableJSON(active) === stableJSON(this.definition());
  }

  stepsByKey() {
    const steps = {};
    walk(this.definition(), (step) => { steps[step.key] = step; });
    return steps;
  }

  scopeContext() {
    return {
      eventTypes: this.catalog.eventTypes, actions: this.catalog.actions, entitySamples: this.config.entitySamples,
      entities: this.config.entities,
      outputs: this.tests.outputs(), manualData: this.state.testData, secrets: this.catalog.secrets,
    };
  }

  variables(key) { return variablesAt(this.definition(), key, this.scopeContext()); }

  paths(key) { return pathsAt(this.definition(), key, this.scopeContext()); }

  /** The type of each field path at that point: documented entity fields, else the sample's. */
  fieldInfo(key) {
    const samples = new Map(this.variables(key).flatMap((group) => group.items.map((item) => [item.path, item.sample])));
    return (path) => fieldType(path, { schemas: this.config.entities, sample: samples.get(path) });
  }

  /** An endpoint about the automation on screen: the saved one's, or the unsaved one's. */
  automationPath(name) {
    if (this.state.automation) return `automations/${this.state.automation.id}/${name}/`;
    return `automations/${name}/${this.templateQuery()}`;
  }

  templateQuery() { return templateQuery(this.template); }

  sampleData() {
    return this.state.testData ?? triggerData(this.definition(), this.scopeContext());
  }

  // --- start -----------------------------------------------------------------------------------

  async start() {
    // Everything the page needs is loaded before it is drawn: no control exists before it works.
    let server = clone(BLANK);
    try {
      // Email templates only for users who may read them: the others see the flow without them.
      const [eventTypes, actions, stepTypes, triggerKinds, emailTemplates] = await Promise.all([
        this.api.listAll("event-types/"), this.api.listAll("actions/"), this.api.listAll("step-types/"),
        this.api.listAll("trigger-kinds/"),
        this.permissions.viewEmailTemplate ? this.api.listAll("email-templates/") : [],
      ]);
      useStepTypes(stepTypes);
      useTriggerKinds(triggerKinds);
      this.catalog.eventTypes = Object.fromEntries(eventTypes.map((item) => [item.type, item]));
      this.catalog.actions = Object.fromEntries(actions.map((item) => [item.action, item]));
      this.catalog.emailTemplates = emailTemplates;
      // Named secrets, for {{ secrets.NAME }} in URLs and headers; only their names, and only for
      // users who may see them.
      if (this.permissions.viewSecret) {
        this.catalog.secrets = (await this.api.listAll("secrets/")).map((item) => item.name);
      }
      if (this.config.automationId) {
        this.state.automation = await this.api.get(`automations/${this.config.automationId}/`);
        this.state.revision = this.state.automation.revision;
        server = this.state.automation.draft_definition || this.state.automation.active_definition;
      } else if (this.config.template) {
        server = startFromTemplate(this, this.config.template);
      }
    } catch (error) {
      this.root.replaceChildren(h("p", { class: "ab-errors-inline" }, `The builder could not load: ${error.message}`));
      return;
    }
    this.state.saved = this.config.automationId ? clone(server) : null;
    this.state.history = createHistory(server);
    // The page appears whole: the flow is drawn with its figures (nothing moves under the pointer later).
    this.figuresBar = new FiguresBar(this);
    await this.figuresBar.load({ redraw: false });
    this.layout();
    if (this.template) announceTemplate(this);
    this.local.restore(server);
    renderPalette(this.paletteHost, this.catalog.actions, this.canEdit, (item) => this.insertAfterSelection(item));
    this.render();
    this.renderPanel();
    this.drafts.validateSoon(0);
  }

  layout() {
    this.toolbar = new Toolbar(this);
    this.flowHost = h("div", { class: "ab-canvas", "aria-label": "Flow" });
    this.paletteHost = h("aside", { class: "ab-palette", "aria-label": "Steps you can add" });
    this.panel = new Panel(this);
    this.conflictDialog = new ConflictDialog();
    this.root.replaceChildren(
      this.toolbar.element, this.notices.element,
      h("div", { class: `ab-workspace${this.canEdit ? "" : " ab-workspace--readonly"}` },
        this.paletteHost, this.flowHost, this.panel.element),
      h("div", { id: "ab-live", class: "ab-visually-hidden", "aria-live": "polite" }));
    listenToFlow(this);
    window.addEventListener("beforeunload", (event) => {
      if (this.dirty && this.canEdit && !this.leaving) event.preventDefault();
    });
  }

  // --- edits -----------------------------------------------------------------------------------

  /** A new present that is its own undo step (a local copy brought back, a discard). */
  record(definition) {
    this.state.history = record(this.state.history, definition);
  }

  /** A new present that is not an edit (the server's draft after a reload or a restore): undo
   *  starts again from it. */
  startOver(definition) {
    this.state.history = reset(this.state.history, definition);
  }

  /** Every change goes through here: one undo step (or one per ``group``), redraw, revalidate. */
  commit(next, { group = null, message = null, focus = null, panel = false } = {}) {
    if (!this.canEdit || next === this.definition()) return;
    this.state.history = record(this.state.history, next, group);
    if (!group) this.state.history = seal(this.state.history);
    this.afterEdit(message, focus);
    if (panel) this.renderPanel();
  }

  afterEdit(message, focus) {
    // What was just done is no longer the latest news once something else is.
    this.notices.clear("deleted", "reloaded", "saved-over");
    if (this.state.testRun) this.state.testStale = true;
    this.local.persist();
    this.render(focus);
    this.panel.refreshSummary();
    this.drafts.validateSoon();
    if (message) announce(message);
  }

  editStep(key, changes, group = null) {
    this.commit(updateStep(this.definition(), this.currentKey(key), changes), { group });
  }

  editSettings(changes, group = null) { this.commit(updateSettings(this.definition(), changes), { group }); }

  renameStep(oldKey, key, field) {
    if (key === this.currentKey(oldKey)) return;
    try {
      const next = renameKey(this.definition(), this.currentKey(oldKey), key);
      if (this.state.selected === this.currentKey(oldKey)) this.state.selected = key;
      this.keysRenamedSincePanelDrawn.set(oldKey, key);
      this.commit(next, { message: `Renamed ${oldKey} to ${key}.` });
      this.redrawPanelKeepingFocus();
    } catch (error) {
      field.classList.add("has-error");
      field.querySelector(".ab-errors").replaceChildren(h("li", {}, error.message));
    }
  }

  /** Redraw the form (its fields name the step by its key) once the focus has moved on: a rename
   *  is committed as the Tab leaves the key field, and a form redrawn at once would take the field
   *  the focus was going to with it, leaving the keyboard on the page's top. */
  redrawPanelKeepingFocus() {
    setTimeout(() => {
      const controls = () => [...this.panel.body.querySelectorAll("input, select, textarea, button")];
      const at = controls().indexOf(document.activeElement);
      this.renderPanel();
      if (at >= 0) controls()[at]?.focus();
    });
  }

  /** What ``lane`` is called ("Then of still_unpaid"), by the type of the step it is in. */
  laneLabel(lane) { return laneLabel(lane, lane.owner ? this.step(lane.owner)?.type : undefined); }

  /** The data a run brings in ``lane`` (invoice, customer, a loop's item ...): what a new step there may read. */
  rootsIn(lane) {
    const roots = new Set(this.paths(lane.owner).map((path) => path.split(".")[0]));
    const owner = lane.owner && this.step(lane.owner);
    const variable = stepType(owner?.type)?.scope?.lane_variable;
    if (variable) roots.add(owner[variable.field] || variable.default);
    return roots;
  }

  insert(item, lane, index) {
    const step = newStep(this.definition(), item.type, item.action, { roots: this.rootsIn(lane) });
    this.state.selected = step.key;
    this.commit(insertStep(this.definition(), lane, index, step), {
      message: `Added ${step.key} to ${this.laneLabel(lane)}, position ${index + 1}.`, focus: `${step.key}:select`, panel: true,
    });
  }

  insertAfterSelection(item) {
    const found = findStep(this.definition(), this.state.selected);
    if (found) this.insert(item, found.lane, found.index + 1);
    else this.insert(item, { owner: null, slot: "steps" }, (this.definition().steps || []).length);
  }

  openInsert(anchor, lane, index) {
    const where = lane.owner ? `to ${this.laneLabel(lane)}` : "to the flow";
    openInsertMenu(anchor, this.catalog.actions, where, (item) => this.insert(item, lane, index));
  }

  move(key, lane, index, how) {
    let next;
    try {
      next = moveStep(this.definition(), key, lane, index);
    } catch (error) {
      announce(error.message);
      this.render();
      return;
    }
    const found = findStep(next, key);
    const size = getLane(next, found.lane).length;
    this.commit(next, {
      message: `Moved ${key}${how ? ` ${how}` : ""}: now ${found.index + 1} of ${size} in ${this.laneLabel(found.lane)}.`,
      focus: `${key}:select`,
    });
  }

  // --- selection and undo ----------------------------------------------------------------------

  focusCard(target) {
    this.root.querySelector(`[data-focus-id="${CSS.escape(`${target}:select`)}"]`)?.focus();
  }

  select(target) {
    this.state.selected = target;
    this.state.tab = "edit";
    this.render(`${target}:select`);
    this.renderPanel();
  }

  goToProblem(problem) {
    const target = problem.target === "flow" ? null : problem.target;
    if (target) this.select(target);
    const field = target && this.panel.element.querySelector(`[data-field="${CSS.escape(problem.field)}"]`);
    const control = field?.querySelector("input, select, textarea") || (target
      ? this.panel.element.querySelector("input, select, textarea") : this.flowHost.querySelector(".ab-add"));
    control?.focus();
  }

  undo() {
    if (!canUndo(this.state.history)) return;
    this.state.history = undo(this.state.history);
    this.afterHistory("Undone.");
  }

  redo() {
    if (!canRedo(this.state.history)) return;
    this.state.history = redo(this.state.history);
    this.afterHistory("Redone.");
  }

  afterHistory(message) {
    if (this.state.selected && !["trigger", "conditions", "settings"].includes(this.state.selected)
        && !findStep(this.definition(), this.state.selected)) {
      this.state.selected = "trigger";
    }
    const focused = document.activeElement?.dataset?.focusId;
    this.afterEdit(message, focused && this.root.querySelector(`[data-focus-id="${CSS.escape(focused)}"]`)
      ? focused : `${this.state.selected}:select`);
    this.renderPanel();
  }

  /** Close an undo group: the next keystroke in a field starts a new undo step. */
  sealHistory() {
    this.state.history = seal(this.state.history);
  }

  // --- render ----------------------------------------------------------------------------------

  render(focus) {
    if (this.dragging) {
      // A redraw now (a validation answer, say) would pull the lanes from under the pointer.
      this.redrawAfterDrop = true;
      return;
    }
    const focused = focus || document.activeElement?.dataset?.focusId;
    const flow = renderFlow(this.definition(), flowView(this));
    // The figures bar stays where it is (moving it would take the keyboard's focus from its controls).
    const bar = this.figuresBar.shown ? this.figuresBar.element : null;
    if (bar && this.flowHost.firstChild === bar) [...this.flowHost.children].slice(1).forEach((child) => child.remove());
    else this.flowHost.replaceChildren(...(bar ? [bar] : []));
    this.flowHost.append(flow);
    this.toolbar.update();
    this.panel.showErrors();
    if (this.canEdit) {
      enableDragAndDrop(flow, this.paletteHost, {
        onStart: () => { this.dragging = true; },
        onEnd: (drop) => {
          this.dragging = false;
          this.redrawAfterDrop = false;
          if (drop?.key) this.move(drop.key, drop.lane, drop.index);
          else if (drop?.item) this.insert(drop.item, drop.lane, drop.index);
          else this.render();
        },
      });
    } else {
      destroyDragAndDrop();
    }
    if (focused) {
      const target = this.root.querySelector(`[data-focus-id="${CSS.escape(focused)}"]`);
      if (target && !this.panel.element.contains(document.activeElement)) target.focus();
    }
  }

  renderPanel() { this.panel.render(); }

  setTab(tab) {
    this.state.tab = tab;
    this.panel.render();
  }
}
