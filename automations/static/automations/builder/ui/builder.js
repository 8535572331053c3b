// The builder: one state object (the definition's undo history plus what is selected, collapsed,
// wrong), pure edits from ../state, one render from state to DOM, and the REST API for
// everything the server decides (validation, saving, test mode, versions).

import { canRedo, canUndo, createHistory, record, redo, seal, undo } from "../state/history.js";
import { placeErrors } from "../state/problems.js";
import { fieldType } from "../state/conditions.js";
import { pathsAt, triggerData, variablesAt } from "../state/scope.js";
import {
  clone, duplicateStep, findStep, getLane, insertStep, laneId, laneLabel, moveDown, moveStep, moveUp, newStep,
  parseLaneId, removeStep, renameKey, stableJSON, updateSettings, updateStep, walk,
} from "../state/tree.js";
import { Api } from "./api.js";
import { ConflictDialog, describeConflict } from "./conflict_dialog.js";
import { destroyDragAndDrop, enableDragAndDrop } from "./dnd.js";
import { announce, h } from "./dom.js";
import { renderFlow } from "./flow.js";
import { openInsertMenu, openMoveDialog, paletteGroups } from "./menus.js";
import { icon } from "./icons.js";
import { Panel } from "./panel.js";
import { Toolbar } from "./toolbar.js";

// A new automation asks for its event: the trigger card names what is missing until it is chosen.
const BLANK = {
  name: "New automation",
  trigger: { type: "event" },
  steps: [],
};

function storageKey(id) {
  return `billing-automations:builder:${id || "new"}`;
}

export class Builder {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.api = new Api(config.apiRoot, config.csrfToken);
    this.permissions = config.permissions;
    this.catalog = { eventTypes: {}, actions: {}, emailTemplates: [], secrets: [] };
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
    this.validation = { timer: null, sequence: 0 };
  }

  // --- reading state ---------------------------------------------------------------------------

  definition() { return this.state.history.present; }

  step(key) { return findStep(this.definition(), key)?.step; }

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
      outputs: this.testOutputs(), manualData: this.state.testData, secrets: this.catalog.secrets,
    };
  }

  variables(key) { return variablesAt(this.definition(), key, this.scopeContext()); }

  paths(key) { return pathsAt(this.definition(), key, this.scopeContext()); }

  /** The type of each field path at that point: documented entity fields, else the sample's. */
  fieldInfo(key) {
    const samples = new Map(this.variables(key).flatMap((group) => group.items.map((item) => [item.path, item.sample])));
    return (path) => fieldType(path, { schemas: this.config.entities, sample: samples.get(path) });
  }

  sampleData() {
    return this.state.testData ?? triggerData(this.definition(), this.scopeContext());
  }

  testOutputs() {
    const outputs = {};
    for (const entry of this.state.testRun?.timeline || []) {
      if (entry.type === "action" && entry.would) outputs[entry.step] = entry.would;
      if (entry.type === "branch") outputs[entry.step] = { branch: entry.branch };
    }
    return outputs;
  }

  // --- start -----------------------------------------------------------------------------------

  async start() {
    // Everything the page needs is loaded before it is drawn: no control exists before it works.
    let server = clone(BLANK);
    try {
      // Email templates only for users who may read them: the others see the flow without them.
      const [eventTypes, actions, emailTemplates] = await Promise.all([
        this.api.listAll("event-types/"), this.api.listAll("actions/"),
        this.permissions.viewEmailTemplate ? this.api.listAll("email-templates/") : [],
      ]);
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
      }
    } catch (error) {
      this.root.replaceChildren(h("p", { class: "ab-errors-inline" }, `The builder could not load: ${error.message}`));
      return;
    }
    this.state.saved = this.config.automationId ? clone(server) : null;
    this.state.history = createHistory(server);
    this.layout();
    this.restoreLocal(server);
    this.palette();
    this.render();
    this.renderPanel();
    this.validateSoon(0);
  }

  layout() {
    this.toolbar = new Toolbar(this);
    this.flowHost = h("div", { class: "ab-canvas", "aria-label": "Flow" });
    this.paletteHost = h("aside", { class: "ab-palette", "aria-label": "Steps you can add" });
    this.panel = new Panel(this);
    this.conflictDialog = new ConflictDialog();
    this.noticeHost = h("div", { class: "ab-notices", role: "status" });
    this.root.replaceChildren(
      this.toolbar.element, this.noticeHost,
      h("div", { class: `ab-workspace${this.canEdit ? "" : " ab-workspace--readonly"}` },
        this.paletteHost, this.flowHost, this.panel.element),
      h("div", { id: "ab-live", class: "ab-visually-hidden", "aria-live": "polite" }));
    this.flowHost.addEventListener("click", (event) => this.onFlowClick(event));
    this.flowHost.addEventListener("keydown", (event) => this.onToolsKey(event));
    document.addEventListener("keydown", (event) => this.onKey(event));
    window.addEventListener("beforeunload", (event) => {
      if (this.dirty && this.canEdit) event.preventDefault();
    });
  }

  palette() {
    if (!this.canEdit) {
      this.paletteHost.replaceChildren(h("p", { class: "ab-help" }, "You may view this automation; changing it needs the change permission."));
      return;
    }
    this.paletteHost.replaceChildren(
      h("h2", { class: "ab-palette__title" }, "Add steps"),
      h("p", { class: "ab-help" }, "Drag into the flow, or choose one to add it after the selected step."),
      ...paletteGroups(this.catalog.actions).map((group) => h("section", { class: "ab-palette-group" },
        h("h3", {}, group.title),
        h("ul", { class: "ab-palette-list" }, group.items.map((item) => h("li", {
          class: "ab-palette-item", dataset: { type: item.type, action: item.action || "" },
        }, h("button", { type: "button", class: "ab-palette-button", title: item.description,
                         onclick: () => this.insertAfterSelection(item) },
          icon(item.icon), h("span", {}, item.label))))))));
  }

  // --- local copy: nothing typed is lost ------------------------------------------------------

  restoreLocal(server) {
    let stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(storageKey(this.config.automationId)) || "null");
    } catch {
      stored = null;
    }
    if (!stored?.definition || stableJSON(stored.definition) === stableJSON(server)) return;
    this.state.history = record(this.state.history, stored.definition);
    // Those changes were made on the revision read then: saving them over a newer one asks first.
    if (stored.revision) this.state.revision = stored.revision;
    this.notice(`Your unsaved changes from ${new Date(stored.at).toLocaleString()} are back.`, "info",
      h("button", { type: "button", class: "button", onclick: () => this.discardLocal() }, "Discard them"));
  }

  persistLocal() {
    const key = storageKey(this.state.automation?.id || this.config.automationId);
    if (this.dirty && this.canEdit) {
      localStorage.setItem(key, JSON.stringify({ definition: this.definition(), at: Date.now(),
                                                 revision: this.state.revision }));
    } else {
      localStorage.removeItem(key);
    }
  }

  discardLocal() {
    const server = this.state.saved ? clone(this.state.saved) : clone(BLANK);
    this.state.history = record(this.state.history, server);
    this.persistLocal();
    this.clearNotices();
    this.afterEdit("Unsaved changes discarded.");
    this.renderPanel();
  }

  // --- edits -----------------------------------------------------------------------------------

  /** Every change goes through here: one undo step (or one per ``group``), redraw, revalidate. */
  commit(next, { group = null, message = null, focus = null, panel = false } = {}) {
    if (!this.canEdit || next === this.definition()) return;
    this.state.history = record(this.state.history, next, group);
    if (!group) this.state.history = seal(this.state.history);
    this.afterEdit(message, focus);
    if (panel) this.renderPanel();
  }

  afterEdit(message, focus) {
    this.clearNotices("deleted");
    if (this.state.testRun) this.state.testStale = true;
    this.persistLocal();
    this.render(focus);
    this.panel.refreshSummary();
    this.validateSoon();
    if (message) announce(message);
  }

  editStep(key, changes, group = null) { this.commit(updateStep(this.definition(), key, changes), { group }); }

  editSettings(changes, group = null) { this.commit(updateSettings(this.definition(), changes), { group }); }

  renameStep(oldKey, key, field) {
    if (key === oldKey) return;
    try {
      const next = renameKey(this.definition(), oldKey, key);
      if (this.state.selected === oldKey) this.state.selected = key;
      this.commit(next, { message: `Renamed ${oldKey} to ${key}.`, panel: true });
    } catch (error) {
      field.classList.add("has-error");
      field.querySelector(".ab-errors").replaceChildren(h("li", {}, error.message));
    }
  }

  insert(item, lane, index) {
    const step = newStep(this.definition(), item.type, item.action);
    this.state.selected = step.key;
    this.commit(insertStep(this.definition(), lane, index, step), {
      message: `Added ${step.key} to ${laneLabel(lane)}, position ${index + 1}.`, focus: `${step.key}:select`, panel: true,
    });
  }

  insertAfterSelection(item) {
    const found = findStep(this.definition(), this.state.selected);
    if (found) this.insert(item, found.lane, found.index + 1);
    else this.insert(item, { owner: null, slot: "steps" }, (this.definition().steps || []).length);
  }

  openInsert(anchor, lane, index) {
    const where = laneLabel(lane) === "Main flow" ? "to the flow" : `to ${laneLabel(lane)}`;
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
      message: `Moved ${key}${how ? ` ${how}` : ""}: now ${found.index + 1} of ${size} in ${laneLabel(found.lane)}.`,
      focus: `${key}:select`,
    });
  }

  /** Arrow keys, Home and End move between a card's tools (one tab stop for them all). */
  onToolsKey(event) {
    const tools = event.target.closest?.(".ab-tools");
    if (!tools || !["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    const buttons = [...tools.querySelectorAll("button")];
    const at = buttons.indexOf(event.target);
    const next = { ArrowLeft: at - 1, ArrowRight: at + 1, Home: 0, End: buttons.length - 1 }[event.key];
    event.preventDefault();
    buttons[(next + buttons.length) % buttons.length].focus();
  }

  onFlowClick(event) {
    const button = event.target.closest("[data-action]");
    if (!button || !this.flowHost.contains(button)) return;
    const { action, key } = button.dataset;
    if (button.getAttribute("aria-disabled") === "true") {
      announce(action === "move-up" ? `${key} is already first in its lane.` : `${key} is already last in its lane.`);
      return;
    }
    const definition = this.definition();
    switch (action) {
      case "select":
        this.select(button.dataset.target);
        // From the keyboard (a click with no pointer), go on into the form: the panel comes next.
        if (event.detail === 0) this.panel.focusForm();
        break;
      case "add":
        this.openInsert(button, parseLaneId(button.dataset.lane), Number(button.dataset.index));
        break;
      case "move-up":
      case "move-down": {
        const up = action === "move-up";
        const next = up ? moveUp(definition, key) : moveDown(definition, key);
        const found = findStep(next, key);
        this.commit(next, {
          message: `Moved ${key} ${up ? "up" : "down"}: now ${found.index + 1} of ${getLane(next, found.lane).length} in ${laneLabel(found.lane)}.`,
          focus: `${key}:${action}`,
        });
        break;
      }
      case "move-to":
        openMoveDialog(button, definition, key, (lane, index) => this.move(key, lane, index));
        break;
      case "duplicate": {
        const { definition: next, key: copy } = duplicateStep(definition, key);
        this.state.selected = copy;
        this.commit(next, { message: `Duplicated ${key} as ${copy}.`, focus: `${copy}:select`, panel: true });
        break;
      }
      case "delete": {
        const found = findStep(definition, key);
        const lane = getLane(definition, found.lane);
        const neighbour = lane[found.index + 1] || lane[found.index - 1];
        if (this.state.selected === key) this.state.selected = neighbour?.key || "trigger";
        this.commit(removeStep(definition, key), {
          message: `Deleted ${key}. Undo brings it back.`,
          focus: neighbour ? `${neighbour.key}:select` : `add:${laneId(found.lane)}:0`,
          panel: true,
        });
        this.notice(`Deleted ${key}.`, "deleted", h("button", { type: "button", class: "button", onclick: () => {
          this.clearNotices("deleted");
          this.undo();
        } }, "Bring it back"));
        break;
      }
      case "toggle-lane": {
        const id = button.dataset.lane;
        if (this.state.collapsed.has(id)) this.state.collapsed.delete(id);
        else this.state.collapsed.add(id);
        this.render(`toggle:${id}`);
        break;
      }
      default:
        break;
    }
  }

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

  onKey(event) {
    const typing = event.target.closest?.("input, textarea, select, [contenteditable]");
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key.toLowerCase() === "s") {
      event.preventDefault();
      this.save();
    } else if (mod && !typing && event.key.toLowerCase() === "z") {
      event.preventDefault();
      if (event.shiftKey) this.redo();
      else this.undo();
    } else if (mod && !typing && event.key.toLowerCase() === "y") {
      event.preventDefault();
      this.redo();
    }
  }

  // --- render ----------------------------------------------------------------------------------

  view(mode = "edit") {
    const definition = this.definition();
    const placed = this.state.placed;
    const reached = this.state.testRun && !this.state.testStale ? testPath(this.state.testRun) : null;
    return {
      mode,
      canEdit: this.canEdit,
      selected: this.state.selected,
      collapsed: this.state.collapsed,
      actions: this.catalog.actions,
      problemCount: (target) => (placed.byTarget[target] || []).length,
      warningCount: (target) => (this.state.warned.byTarget[target] || []).length,
      positionOf: (key) => {
        const found = findStep(definition, key);
        return { first: found.index === 0, last: found.index === getLane(definition, found.lane).length - 1 };
      },
      decorate: reached ? (key) => {
        if (key === "trigger" || key === "conditions") return null;
        const entry = reached.steps.get(key);
        return entry ? { status: "reached", label: `Test: day ${entry.day}`, detail: entry.detail }
          : { status: "not-reached", label: "Test: not reached" };
      } : null,
      laneDecoration: reached ? (key, slot) => (reached.lanes.get(key) === slot ? "taken" : null) : null,
    };
  }

  render(focus) {
    if (this.dragging) {
      // A redraw now (a validation answer, say) would pull the lanes from under the pointer.
      this.redrawAfterDrop = true;
      return;
    }
    const focused = focus || document.activeElement?.dataset?.focusId;
    const flow = renderFlow(this.definition(), this.view());
    this.flowHost.replaceChildren(flow);
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

  refreshPanel() { this.panel.render(); }

  setTab(tab) {
    this.state.tab = tab;
    this.panel.render();
  }

  /** A message above the flow; a later one of the same ``kind`` replaces it. */
  notice(text, kind = "info", ...extra) {
    this.clearNotices(kind);
    this.noticeHost.append(h("div", { class: `ab-notice ab-notice--${kind}`, "data-kind": kind },
      h("span", {}, text), ...extra));
  }

  clearNotices(kind = null) {
    for (const element of [...this.noticeHost.children]) {
      if (!kind || element.dataset.kind === kind) element.remove();
    }
  }

  // --- the server ------------------------------------------------------------------------------

  validateSoon(wait = 400) {
    clearTimeout(this.validation.timer);
    this.validation.timer = setTimeout(() => this.validate(), wait);
  }

  async validate() {
    const sequence = ++this.validation.sequence;
    const definition = this.definition();
    const path = this.state.automation ? `automations/${this.state.automation.id}/validate/` : "automations/validate/";
    try {
      const answer = await this.api.post(path, definition);
      if (sequence !== this.validation.sequence) return;
      this.state.placed = placeErrors(definition, answer.errors);
      this.state.warned = placeErrors(definition, answer.warnings || []);
    } catch (error) {
      if (sequence !== this.validation.sequence) return;
      this.state.placed = placeErrors(definition, error.errors?.length ? error.errors
        : [{ field: "", message: error.message }]);
    }
    this.render();
    // Says "the server has checked what is on screen" (tests and scripts wait for it).
    this.root.dataset.validated = String(sequence);
  }

  /** Save what is on screen as the draft, based on ``revision`` (the one read or last saved; the
   *  newer one, to overwrite it). Resolves whether it was saved. */
  async save({ revision = this.state.revision } = {}) {
    if (!this.canEdit || this.state.busy) return false;
    this.state.busy = true;
    this.toolbar.update("Saving…");
    const definition = this.definition();
    let conflict = null;
    try {
      const automation = this.state.automation
        ? await this.api.put(`automations/${this.state.automation.id}/`, definition, revision)
        : await this.api.post("automations/", definition);
      const fresh = !this.state.automation;
      this.state.automation = automation;
      this.state.revision = automation.revision;
      this.state.saved = clone(definition);
      this.state.placed = placeErrors(definition, []);
      this.clearNotices("error");
      if (fresh) {
        localStorage.removeItem(storageKey(null));
        window.history.replaceState(null, "", this.config.urls.builder.replace("/0/", `/${automation.id}/`));
        this.config.automationId = automation.id;
        this.panel.render();
      }
      this.persistLocal();
      announce(`Draft saved as version ${automation.draft_version}.`);
      if (this.state.tab === "versions") this.renderPanel();
      return true;
    } catch (error) {
      if (error.stale) {
        conflict = error.errors[0];
      } else {
        const errors = error.errors || [{ field: "", message: error.message }];
        this.state.placed = placeErrors(definition, errors);
        this.notice(`Not saved: ${errors.length} problem${errors.length === 1 ? "" : "s"}. Your changes stay here (and in this browser) until you fix or discard them.`, "error");
      }
    } finally {
      this.state.busy = false;
      this.render();
    }
    return this.resolveConflict(conflict, { saving: true });
  }

  /** After a save or an activation refused as stale: say who saved what and when, and do what the
   *  operator chooses. Resolves whether what is on screen ended up saved. */
  async resolveConflict(conflict, { saving }) {
    if (!conflict) return false;
    const what = `${saving ? "Not saved" : "Not activated"}: ${describeConflict(conflict)}, after you opened this draft.`;
    this.notice(what, "error");
    announce(what);
    const answer = await this.conflictDialog.ask(conflict, { saving });
    if (answer === "overwrite") return this.save({ revision: conflict.revision });
    if (answer === "reload") {
      this.clearNotices("error");
      await this.reloadFromServer(`Reloaded the draft ${conflict.author || "someone else"} saved. Undo brings yours back.`);
      this.notice(`Reloaded: ${describeConflict(conflict)}. Undo brings your changes back.`, "info");
      return false;
    }
    announce("Nothing saved: your changes stay here.");
    return false;
  }

  async activate() {
    if (this.dirty && !(await this.save())) return;
    const automation = this.state.automation;
    if (!automation?.draft_version) return;
    const live = Object.entries(automation.live_executions || {});
    const count = live.reduce((sum, [, n]) => sum + n, 0);
    const confirmed = await this.toolbar.confirm(
      `Activate version ${automation.draft_version}?`,
      `New runs will start on version ${automation.draft_version}. `
        + (count ? `${count === 1 ? "1 live execution stays on the version it" : `${count} live executions stay on the versions they`} `
          + `started on (${live.map(([version, n]) => `v${version}: ${n}`).join(", ")}) and finish there.`
          : "No execution is running or waiting now."),
      `Activate version ${automation.draft_version}`);
    if (!confirmed) return;
    let conflict = null;
    try {
      // The revision on screen: a draft saved since, which nobody here has seen, is not activated.
      this.state.automation = await this.api.post(`automations/${automation.id}/activate/`,
        { revision: this.state.revision });
      this.state.revision = this.state.automation.revision;
      announce(`Version ${this.state.automation.active_version} is active.`);
      this.notice(`Version ${this.state.automation.active_version} is active.`, "success");
    } catch (error) {
      if (error.stale) {
        conflict = error.errors[0];
      } else {
        if (error.errors) this.state.placed = placeErrors(this.definition(), error.errors);
        this.notice(`Not activated: ${error.message}`, "error");
      }
    }
    this.render();
    if (this.state.tab === "versions") this.renderPanel();
    if (conflict && await this.resolveConflict(conflict, { saving: false })) {
      this.notice("Your draft is saved over theirs. Activate it when you are ready.", "info");
    }
  }

  async pauseOrResume() {
    const automation = this.state.automation;
    const verb = automation.is_paused ? "resume" : "pause";
    try {
      this.state.automation = await this.api.post(`automations/${automation.id}/${verb}/`);
      const live = Object.values(this.state.automation.live_executions || {}).reduce((sum, n) => sum + n, 0);
      announce(this.state.automation.is_paused
        ? `Paused: no new runs start; the ${live} running or waiting carry on.` : "Resumed: new runs start again.");
      this.notice(this.state.automation.is_paused
        ? `Paused: triggers start no new runs; the ${live} run${live === 1 ? "" : "s"} already under way carry on.`
        : "Resumed: triggers start runs again.", "paused");
    } catch (error) {
      this.notice(error.message, "error");
    }
    this.render();
  }

  async runTest() {
    this.state.tab = "test";
    const body = this.testSubject();
    if (this.state.testEvents?.length) body.events = this.state.testEvents;
    if (this.state.testDecision) body.decision = this.state.testDecision;
    if (this.state.testDecisions && Object.keys(this.state.testDecisions).length) body.decisions = this.state.testDecisions;
    const outcomes = Object.entries(this.state.testOutcomes || {}).filter(([key]) => this.stepsByKey()[key]);
    if (outcomes.length) body.outcomes = Object.fromEntries(outcomes);
    const path = this.state.automation ? `automations/${this.state.automation.id}/test/` : "automations/test/";
    try {
      this.state.testRun = await this.api.post(path, body);
      this.state.testStale = false;
      announce(`Test finished: ${this.state.testRun.status}, ${this.state.testRun.timeline.length} steps.`);
    } catch (error) {
      this.state.testRun = null;
      this.testRefused(error);
    }
    this.render();
    this.renderPanel();
  }

  /** What a test runs: the definition on screen and its data. */
  testSubject() {
    const body = { definition: this.definition(), billing_data: this.state.testBillingData !== false };
    if (this.state.testData !== undefined) body.data = this.state.testData;
    return body;
  }

  /** The server refused to test what is on screen: its problems are placed beside their fields. */
  testRefused(error) {
    const errors = error.errors || [{ field: "", message: error.message }];
    this.state.placed = placeErrors(this.definition(), errors);
    this.notice(`The test could not run: ${errors.length} problem${errors.length === 1 ? "" : "s"} to fix first.`, "error");
  }

  async testEveryPath() {
    this.state.tab = "test";
    const body = this.testSubject();
    const path = this.state.automation ? `automations/${this.state.automation.id}/test-paths/` : "automations/test-paths/";
    try {
      this.state.testPaths = await this.api.post(path, body);
      announce(`Every path tested: ${this.state.testPaths.paths.length} paths, ${this.state.testPaths.unreached.length} ways no scenario reaches.`);
    } catch (error) {
      this.state.testPaths = null;
      this.testRefused(error);
    }
    this.renderPanel();
  }

  /** Run the test with a path's scenario (its outcomes, decisions and events) and show its timeline. */
  showPath(scenario) {
    this.state.testOutcomes = Object.fromEntries(Object.entries(scenario.outcomes || {}));
    this.state.testDecisions = { ...(scenario.decisions || {}) };
    this.state.testEvents = [...(scenario.events || [])];
    return this.runTest();
  }

  async reloadFromServer(message) {
    this.state.automation = await this.api.get(`automations/${this.state.automation.id}/`);
    this.state.revision = this.state.automation.revision;
    const server = this.state.automation.draft_definition || this.state.automation.active_definition;
    this.state.saved = clone(server);
    this.state.history = record(this.state.history, server);
    this.afterHistory(message);
  }

  async restoreVersion(number) {
    await this.api.post(`automations/${this.state.automation.id}/versions/${number}/restore/`);
    await this.reloadFromServer(`Version ${number} restored into the draft.`);
  }

  async restoreRevision(id) {
    await this.api.post(`automations/${this.state.automation.id}/revisions/${id}/restore/`);
    await this.reloadFromServer("Revision restored into the draft.");
  }
}

/** The steps a test run reached (with their day) and the lane each branch took. */
function testPath(run) {
  const steps = new Map();
  const lanes = new Map();
  for (const entry of run.timeline || []) {
    if (!steps.has(entry.step)) steps.set(entry.step, { day: entry.day, detail: entry.error ? "failed" : "" });
    if (entry.type === "branch") lanes.set(entry.step, entry.branch);
  }
  return { steps, lanes };
}
