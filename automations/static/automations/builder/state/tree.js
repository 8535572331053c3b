// Edits of a definition's step tree. Pure: every function returns a new definition and leaves
// its input alone, so undo/redo is a list of definitions and one render draws any of them.
//
// A lane is where steps sit: the main flow {owner: null, slot: "steps"}, or a lane of a step
// {owner: "still_unpaid", slot: "then"}. Steps are known by their key, unique in the definition.
// Which lanes a step has, and what they are called, the server's step-type catalogue says.

import { lanesOfType, laneName, startingFields } from "./step_types.js";

export const ROOT = Object.freeze({ owner: null, slot: "steps" });
const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,99}$/;

export function lanesOf(step) {
  return lanesOfType(step?.type);
}

/** The lane a branch or a split step went down, from what it said (a test's timeline entry, or a
 *  run's step output): a branch's ``branch``, a split's ``variant``; null for other steps. */
export function laneTaken(type, said) {
  if (type === "branch") return said?.branch ?? null;
  if (type === "split") return said?.variant ?? null;
  return null;
}

export function laneId(lane) {
  return lane.owner ? `${lane.owner}.${lane.slot}` : "steps";
}

export function parseLaneId(id) {
  if (id === "steps" || !id) return { owner: null, slot: "steps" };
  const dot = id.lastIndexOf(".");
  return { owner: id.slice(0, dot), slot: id.slice(dot + 1) };
}

export function sameLane(a, b) {
  return (a.owner || null) === (b.owner || null) && a.slot === b.slot;
}

/** JSON with object keys sorted: two definitions that differ only in key order read the same. */
export function stableJSON(value) {
  if (Array.isArray(value)) return `[${value.map(stableJSON).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableJSON(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** Every step, depth first in document order: fn(step, lane, index, ancestors). */
export function walk(definition, fn) {
  const visit = (steps, lane, ancestors) => {
    (steps || []).forEach((step, index) => {
      if (!step || typeof step !== "object") return;
      fn(step, lane, index, ancestors);
      for (const slot of lanesOf(step)) {
        visit(step[slot], { owner: step.key, slot }, [...ancestors, step]);
      }
    });
  };
  visit(definition.steps, ROOT, []);
}

export function allKeys(definition) {
  const keys = new Set();
  walk(definition, (step) => step.key && keys.add(step.key));
  return keys;
}

/** {step, lane, index, ancestors} of the step with this key, or null. */
export function findStep(definition, key) {
  let found = null;
  walk(definition, (step, lane, index, ancestors) => {
    if (!found && step.key === key) found = { step, lane, index, ancestors };
  });
  return found;
}

/** The list of steps of a lane (undefined when its owner does not exist). */
export function getLane(definition, lane) {
  if (!lane.owner) return definition.steps || [];
  const owner = findStep(definition, lane.owner);
  if (!owner || !lanesOf(owner.step).includes(lane.slot)) return undefined;
  return owner.step[lane.slot] || [];
}

function laneForWrite(definition, lane) {
  if (!lane.owner) {
    definition.steps = definition.steps || [];
    return definition.steps;
  }
  const owner = findStep(definition, lane.owner);
  if (!owner || !lanesOf(owner.step).includes(lane.slot)) throw new Error(`no lane ${laneId(lane)}`);
  owner.step[lane.slot] = owner.step[lane.slot] || [];
  return owner.step[lane.slot];
}

function tidy(step) {
  // Empty fallback and else lanes are left out of the canonical form; keep the JSON view clean.
  if (step.type === "action" && Array.isArray(step.fallback) && !step.fallback.length) delete step.fallback;
  return step;
}

/** The base a key is generated from: the action's key, or the step type. */
export function keyBase(step) {
  const raw = step.type === "action" ? step.action || "action" : step.type || "step";
  return String(raw).toLowerCase().replace(/[^a-z0-9_-]/g, "_").replace(/^[^a-z0-9]+/, "") || "step";
}

/** ``base`` if no step has it, else base_2, base_3, ... */
export function uniqueKey(taken, base) {
  const stem = base.replace(/_\d+$/, "").slice(0, 90) || "step";
  if (!taken.has(stem)) return stem;
  for (let n = 2; ; n += 1) {
    const candidate = `${stem}_${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** A new step of ``type`` (and ``action``) with a unique key and the fields it starts with
 *  (step_types.js; ``context.roots``: the data the run brings where it is added). */
export function newStep(definition, type, action, context = {}) {
  const step = { type, ...(type === "action" ? { action } : {}), ...startingFields(type, action, context) };
  return { key: uniqueKey(allKeys(definition), keyBase(step)), ...step };
}

export function insertStep(definition, lane, index, step) {
  const next = clone(definition);
  const steps = laneForWrite(next, lane);
  const at = Math.max(0, Math.min(index ?? steps.length, steps.length));
  steps.splice(at, 0, clone(step));
  return next;
}

export function removeStep(definition, key) {
  const next = clone(definition);
  const found = findStep(next, key);
  if (!found) return definition;
  const steps = laneForWrite(next, found.lane);
  steps.splice(found.index, 1);
  if (found.lane.owner) tidy(findStep(next, found.lane.owner).step);
  return next;
}

/** Whether ``key`` may go into ``lane``: not into itself or anything inside it. */
export function canMoveTo(definition, key, lane) {
  if (!lane.owner) return true;
  if (lane.owner === key) return false;
  const owner = findStep(definition, lane.owner);
  return Boolean(owner) && !owner.ancestors.some((step) => step.key === key);
}

/**
 * The one move: drag and drop, Move up/down and Move to… all call it. ``index`` is the position
 * in the destination lane once the step has left its old place (as SortableJS reports it).
 */
export function moveStep(definition, key, lane, index) {
  if (!canMoveTo(definition, key, lane)) {
    throw new Error(`${key} cannot move into ${laneId(lane)}: that lane is inside it`);
  }
  const found = findStep(definition, key);
  if (!found) throw new Error(`no step ${key}`);
  const next = clone(definition);
  const from = laneForWrite(next, found.lane);
  const [step] = from.splice(found.index, 1);
  if (found.lane.owner) tidy(findStep(next, found.lane.owner).step);
  const to = laneForWrite(next, lane);
  to.splice(Math.max(0, Math.min(index, to.length)), 0, step);
  return next;
}

export function moveUp(definition, key) {
  const found = findStep(definition, key);
  if (!found || found.index === 0) return definition;
  return moveStep(definition, key, found.lane, found.index - 1);
}

export function moveDown(definition, key) {
  const found = findStep(definition, key);
  if (!found) return definition;
  const size = getLane(definition, found.lane).length;
  if (found.index >= size - 1) return definition;
  return moveStep(definition, key, found.lane, found.index + 1);
}

/** A copy of the step (and everything in its lanes) with new keys, right after it. */
export function duplicateStep(definition, key) {
  const found = findStep(definition, key);
  if (!found) return { definition, key: null };
  const taken = allKeys(definition);
  const renamed = {};
  const rekey = (step) => {
    const copy = { ...step, key: uniqueKey(taken, step.key) };
    taken.add(copy.key);
    renamed[step.key] = copy.key;
    for (const slot of lanesOf(step)) if (Array.isArray(step[slot])) copy[slot] = step[slot].map(rekey);
    return copy;
  };
  const copy = rekey(clone(found.step));
  // A copy that reads its own steps' outputs reads the copies' outputs.
  const adjusted = renameReferences(copy, renamed);
  return { definition: insertStep(definition, found.lane, found.index + 1, adjusted), key: copy.key };
}

function renameReferences(value, renamed) {
  if (typeof value === "string") {
    return value.replace(/\bsteps\.([a-z0-9][a-z0-9_-]*)/g, (match, key) =>
      renamed[key] ? `steps.${renamed[key]}` : match);
  }
  if (Array.isArray(value)) return value.map((item) => renameReferences(item, renamed));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([name, item]) =>
      [name, name === "key" ? item : renameReferences(item, renamed)]));
  }
  return value;
}

/** Why ``key`` cannot be a step key here, or null when it can. */
export function keyProblem(definition, oldKey, key) {
  if (!KEY_PATTERN.test(key || "")) {
    return "use lowercase letters, digits, - or _ (starting with a letter or digit, at most 100)";
  }
  if (key !== oldKey && allKeys(definition).has(key)) return `another step is already called ${key}`;
  return null;
}

/** The step renamed, and every ``steps.<old>`` reference in the definition with it. */
export function renameKey(definition, oldKey, key) {
  const problem = keyProblem(definition, oldKey, key);
  if (problem) throw new Error(problem);
  if (oldKey === key) return definition;
  const next = renameReferences(clone(definition), { [oldKey]: key });
  findStep(next, oldKey).step.key = key;
  return next;
}

/** The step with ``changes`` applied (a value of undefined removes that field). */
export function updateStep(definition, key, changes) {
  const next = clone(definition);
  const found = findStep(next, key);
  if (!found) return definition;
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete found.step[name];
    else found.step[name] = clone(value);
  }
  return next;
}

/** The definition with top-level ``changes`` (trigger, conditions, name, ...) applied. */
export function updateSettings(definition, changes) {
  const next = clone(definition);
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete next[name];
    else next[name] = clone(value);
  }
  return next;
}

/** "Then of still_unpaid", "Main flow"; ``ownerType``: the type of the step whose lane it is. */
export function laneLabel(lane, ownerType) {
  return lane.owner ? `${laneName(lane.slot, ownerType)} of ${lane.owner}` : "Main flow";
}

/** Every lane ``key`` may move to, with its label and size (for Move to…). */
export function destinations(definition, key) {
  const lanes = [{ lane: ROOT, label: laneLabel(ROOT), size: (definition.steps || []).length }];
  walk(definition, (step) => {
    for (const slot of lanesOf(step)) {
      const lane = { owner: step.key, slot };
      if (canMoveTo(definition, key, lane)) {
        lanes.push({ lane, label: laneLabel(lane, step.type), size: (step[slot] || []).length });
      }
    }
  });
  return lanes.map((item) => {
    const found = findStep(definition, key);
    const inside = found && sameLane(found.lane, item.lane);
    return { ...item, positions: inside ? item.size : item.size + 1 };
  });
}
