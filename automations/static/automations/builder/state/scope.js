// What a templated field may use at a point of the flow (the variable picker): the trigger's
// data with sample values, the loop's item only inside its loop, earlier steps' outputs, and the
// run's own variables. A field that may be missing (optional or nullable in the catalogue's
// schema, a key of a free-form map such as customer.metadata, a root the trigger does not always
// bring) is marked optional and inserted with a default, as the server requires. What a step's
// output holds and which variable a step's lanes add (a loop's item), the step-type catalogue
// says; what the trigger brings, the trigger-kind catalogue. Pure.

import { stepType } from "./step_types.js";
import { triggerDataSource, triggerVariables } from "./trigger_kinds.js";
import { findStep, lanesOf } from "./tree.js";

const MAX_DEPTH = 3;

/** [{path, sample}] for every field inside ``value`` (objects walked, lists shown whole). */
export function flatten(value, prefix, depth = MAX_DEPTH) {
  if (value && typeof value === "object" && !Array.isArray(value) && depth > 0) {
    const items = [];
    for (const [name, inner] of Object.entries(value)) {
      items.push(...flatten(inner, `${prefix}.${name}`, depth - 1));
    }
    return items.length ? items : [{ path: prefix, sample: value }];
  }
  return [{ path: prefix, sample: value }];
}

function nullable(schema) {
  return Array.isArray(schema?.type) && schema.type.includes("null");
}

/**
 * Why ``path`` may be missing in a run, from the JSON Schemas the server owns (``schemas``:
 * {root: schema}; ``requiredRoots``: the roots the trigger always brings), or "" when it is
 * always there or nothing is known of it.
 */
export function missingReason(path, schemas = {}, requiredRoots = null) {
  const [root, ...parts] = String(path).split(".");
  let schema = schemas[root];
  if (!schema) return "";
  if (requiredRoots && !requiredRoots.includes(root)) return `the trigger does not always bring a ${root}`;
  let walked = root;
  for (const part of parts) {
    const properties = schema.properties;
    if (!properties) {
      const type = Array.isArray(schema.type) ? schema.type : [schema.type];
      return type.includes("object") || type.includes("array") ? `${walked} holds whatever keys the data has` : "";
    }
    if (!(part in properties)) return schema.additionalProperties === false ? "" : `${walked} holds whatever keys the data has`;
    const child = properties[part] || {};
    if (!(schema.required || []).includes(part)) return "an optional field";
    if (nullable(child)) return "it may be null";
    schema = child;
    walked = `${walked}.${part}`;
  }
  return "";
}

const DEFAULTS = { integer: "0", number: "0", array: "[]", boolean: "false" };

/** What the picker inserts for ``path``: ``{{ path }}``, or with a default fitting its type when it may be missing. */
export function insertion(path, optional, schema) {
  if (!optional) return `{{ ${path} }}`;
  const types = (Array.isArray(schema?.type) ? schema.type : [schema?.type]).filter((type) => type && type !== "null");
  const fallback = schema?.format === "money" ? "0" : DEFAULTS[types[0]] ?? '""';
  return `{{ ${path} | default(${fallback}) }}`;
}

function schemaAt(schemas, path) {
  const [root, ...parts] = String(path).split(".");
  return parts.reduce((schema, part) => schema?.properties?.[part], schemas[root]);
}

/** ``items`` with those that may be missing marked {optional, why, insert}. */
function marked(items, schemas, requiredRoots) {
  return items.map((item) => {
    const why = missingReason(item.path, schemas, requiredRoots);
    return why ? { ...item, optional: true, why, insert: insertion(item.path, true, schemaAt(schemas, item.path)) } : item;
  });
}

/** The data a run of this trigger sees, as its kind says (the trigger-kind catalogue): the event's
 *  sample, what the caller gives (the test data, else the entities' samples), or nothing. */
export function triggerData(definition, context) {
  const trigger = definition.trigger || {};
  const source = triggerDataSource(trigger);
  if (source === "event") return context.eventTypes?.[trigger.event]?.sample || {};
  if (source === "given") return context.manualData || context.entitySamples || {};
  return {};
}

function runVariables(definition) {
  const trigger = definition.trigger || {};
  return [
    { path: "event.type", sample: triggerDataSource(trigger) === "event" ? trigger.event : trigger.type },
    { path: "event.id", sample: "evt_..." },
    { path: "automation.name", sample: definition.name || "" },
    { path: "execution.id", sample: 1 },
    { path: "trigger.type", sample: trigger.type },
    { path: "now", sample: "(the time the step runs)" },
    ...triggerVariables(trigger),
  ];
}

/** The variable the lanes of ``step`` add ({field, default}: a loop's ``as``), or undefined. */
function laneVariable(step) {
  return stepType(step?.type)?.scope?.lane_variable || undefined;
}

function loopItem(step, data, context) {
  const variable = laneVariable(step);
  const name = step[variable.field] || variable.default;
  if (step.over && typeof step.over === "object") {
    const singular = String(step.over.collection || "").replace(/s$/, "");
    const sample = context.entitySamples?.[singular] || {};
    return flatten(sample, name, 2);
  }
  const list = typeof step.over === "string" ? resolve(data, step.over) : undefined;
  const first = Array.isArray(list) && list.length ? list[0] : undefined;
  return first === undefined ? [{ path: name, sample: undefined }] : flatten(first, name, 2);
}

export function resolve(data, path) {
  return String(path).split(".").reduce((value, part) =>
    (value && typeof value === "object" ? value[part] : undefined), data);
}

/**
 * Why a field of an earlier step's output may be missing where it is read, as the server judges
 * it: the step may not have run on this path (``outcome`` undefined), may have failed and the run
 * went on ("either"), or has failed ("failed", its fallback lane); "" when it is surely there.
 */
export function outputMissingReason(step, field, outcome, listed) {
  if (outcome === undefined) return `step ${step.key} does not always run before this step`;
  const failureField = field === "status" || field === "error";
  if (outcome === "failed") return failureField ? "" : `step ${step.key} failed: only what it said before failing is there`;
  if (!listed.includes(field)) return `only a failed step ${step.key} has one`;
  if (outcome === "either" && field !== "status") return `step ${step.key} may have failed and the run went on`;
  return "";
}

/** The fields of a step's output its type describes (a branch's lane, a wait's event): one it may
 *  not have (an optional field, or a step that does not always run first) marked optional. */
function describedOutputs(step, schema, known, outcome) {
  const base = `steps.${step.key}.output`;
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).map(([name, field]) => {
    const path = `${base}.${name}`;
    const sample = known?.[name] ?? field?.enum?.[0];
    const why = outcome === undefined ? `step ${step.key} does not always run before this step`
      : required.has(name) ? "" : "an optional field";
    return why ? { path, sample, optional: true, why, insert: insertion(path, true, field) } : { path, sample };
  });
}

function outputsOf(step, context, outcome) {
  const base = `steps.${step.key}.output`;
  const known = context.outputs?.[step.key];
  if (step.type !== "action") {
    const schema = stepType(step.type)?.scope?.output;
    return schema ? describedOutputs(step, schema, known, outcome) : [];
  }
  const listed = Object.keys(context.actions?.[step.action]?.output_schema?.properties || {});
  const fields = [...listed];
  if (step.fallback?.length || step.on_failure === "continue") fields.push("status", "error");
  const items = [...new Set(fields)].map((name) => {
    const path = `${base}.${name}`;
    const why = outputMissingReason(step, name, outcome, listed);
    return why ? { path, sample: known?.[name], optional: true, why, insert: insertion(path, true) }
      : { path, sample: known?.[name] };
  });
  if (items.length) return items;
  return outcome === undefined
    ? [{ path: base, sample: known, optional: true, why: outputMissingReason(step, "", outcome, listed), insert: insertion(base, true) }]
    : [{ path: base, sample: known }];
}

/**
 * How the steps surely run before step ``key`` ended, as far as that step knows: {key:
 * "succeeded" | "either" | "failed"}. A step missing from it may not have run (a lane not taken,
 * or later in the flow).
 */
export function outcomesBefore(definition, key) {
  const found = findStep(definition, key);
  const outcomes = {};
  if (!found) return outcomes;
  const chain = [...found.ancestors, found.step];
  let lane = definition.steps || [];
  chain.forEach((step, depth) => {
    for (const before of lane.slice(0, Math.max(lane.indexOf(step), 0))) {
      outcomes[before.key] = before.on_failure === "continue" ? "either" : "succeeded";
    }
    if (depth < chain.length - 1) {
      const slot = lanesOf(step).find((name) => (step[name] || []).includes(chain[depth + 1]));
      if (step.type === "branch" || step.type === "split") outcomes[step.key] = "succeeded";
      if (step.type === "action" && slot === "fallback") outcomes[step.key] = "failed";
      lane = step[slot] || [];
    }
  });
  return outcomes;
}

function everyStepIn(steps, out) {
  for (const step of steps || []) {
    out.push(step);
    for (const slot of lanesOf(step)) everyStepIn(step[slot], out);
  }
  return out;
}

/**
 * The steps whose outputs exist (or may exist) when the step ``key`` runs: earlier steps on its
 * path (with what ran inside them), and the branch, split or failed action whose lane it is in.
 * Steps in the other lane of a branch it is in never ran on this path.
 */
export function earlierSteps(definition, key) {
  const found = findStep(definition, key);
  if (!found) return [];
  const chain = [...found.ancestors, found.step];
  const earlier = [];
  let lane = definition.steps || [];
  chain.forEach((step, depth) => {
    const index = lane.indexOf(step);
    everyStepIn(lane.slice(0, Math.max(index, 0)), earlier);
    if (depth < chain.length - 1) {
      const child = chain[depth + 1];
      const slot = lanesOf(step).find((name) => (step[name] || []).includes(child));
      if (step.type === "branch" || step.type === "split" || (step.type === "action" && slot === "fallback")) earlier.push(step);
      lane = step[slot] || [];
    }
  });
  return earlier;
}

/**
 * Variables in scope where step ``key`` runs (key null: the automation's own fields such as
 * entry conditions), as groups [{group, items: [{path, sample}]}].
 * ``context``: {eventTypes, actions, entitySamples, outputs (from a test run), manualData, secrets (names)}.
 */
export function variablesAt(definition, key, context = {}) {
  const data = triggerData(definition, context);
  const groups = [];
  const trigger = definition.trigger || {};
  const eventSchema = triggerDataSource(trigger) === "event" ? context.eventTypes?.[trigger.event]?.schema : null;
  const schemas = context.entities || {};
  const requiredRoots = eventSchema ? eventSchema.required || [] : null;
  const dataItems = marked(Object.entries(data).flatMap(([root, value]) => flatten(value, root, 2)), schemas, requiredRoots);
  if (dataItems.length) groups.push({ group: "Trigger data", items: dataItems });
  if (key) {
    const found = findStep(definition, key);
    const loops = (found?.ancestors || []).filter((step) => laneVariable(step));
    for (const loop of loops) {
      const entity = loop.over && typeof loop.over === "object" && (loop.as || "item") === String(loop.over.collection || "").replace(/s$/, "");
      const items = loopItem(loop, data, context);
      groups.push({ group: `Loop item (${loop.key})`, items: entity ? marked(items, schemas, null) : items });
    }
    const outcomes = outcomesBefore(definition, key);
    const outputs = earlierSteps(definition, key).flatMap((step) => outputsOf(step, context, outcomes[step.key]));
    if (outputs.length) groups.push({ group: "Earlier steps", items: outputs });
  }
  groups.push({ group: "Run", items: runVariables(definition) });
  if (context.secrets?.length) {
    groups.push({ group: "Secrets (sent, never shown)",
                  items: context.secrets.map((name) => ({ path: `secrets.${name}`, sample: "********" })) });
  }
  return groups;
}

/** The roots a template may start with at that point (for the condition field list, say). */
export function pathsAt(definition, key, context = {}) {
  return variablesAt(definition, key, context).flatMap((group) => group.items.map((item) => item.path));
}
