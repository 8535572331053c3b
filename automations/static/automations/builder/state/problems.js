// The server's validation errors, placed where the operator will see them: on a card and beside
// a field. The server names fields as paths ("steps.wait_3d.duration", "trigger.schedule.expression",
// "steps.still_unpaid.then[1].key" for a step whose own key is not valid). Pure.

import { findStep, getLane } from "./tree.js";

const SETTINGS = ["name", "description", "correlation_key", "reentry", "exit_on", "retry"];

/** Splits "a.b[2].c" into ["a", "b", 2, "c"]. */
export function splitPath(path) {
  const parts = [];
  for (const piece of String(path || "").split(".")) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(piece);
    if (!match) {
      parts.push(piece);
      continue;
    }
    if (match[1]) parts.push(match[1]);
    for (const index of match[2].matchAll(/\[(\d+)\]/g)) parts.push(Number(index[1]));
  }
  return parts;
}

export function joinPath(parts) {
  return parts.reduce((text, part) => (typeof part === "number" ? `${text}[${part}]` : text ? `${text}.${part}` : part), "");
}

/**
 * Where an error belongs: {target, field} — target is "trigger", "conditions", "settings",
 * "flow" (the steps list itself) or a step key; field is the path inside it ("duration",
 * "config.to", "schedule.expression", "all[0].value").
 */
export function locate(definition, path) {
  const parts = splitPath(path);
  const head = parts[0];
  if (head === "trigger" || head === "conditions") return { target: head, field: joinPath(parts.slice(1)) };
  if (head !== "steps") return { target: "settings", field: joinPath(parts) };
  if (parts.length === 1) return { target: "flow", field: "" };
  // Walk: steps.<key> or steps[<index>], then lanes by name and index, until a step is reached
  // whose remaining path is not a lane.
  let step = null;
  let rest;
  if (typeof parts[1] === "number") {
    step = (definition.steps || [])[parts[1]];
    rest = parts.slice(2);
  } else {
    step = findStep(definition, parts[1])?.step;
    rest = parts.slice(2);
  }
  while (step && rest.length >= 2 && typeof rest[1] === "number") {
    const lane = getLane(definition, { owner: step.key, slot: rest[0] });
    if (!lane || !lane[rest[1]]) break;
    step = lane[rest[1]];
    rest = rest.slice(2);
  }
  if (!step) return { target: "flow", field: joinPath(parts.slice(1)) };
  return { target: step.key, field: joinPath(rest) };
}

/** Errors grouped for display: {byTarget: {target: [{field, message, path}]}, list: [...]}. */
export function placeErrors(definition, errors) {
  const byTarget = {};
  const list = (errors || []).map((error) => {
    const where = locate(definition, error.field);
    const item = { ...where, message: error.message, path: error.field };
    (byTarget[where.target] = byTarget[where.target] || []).push(item);
    return item;
  });
  return { byTarget, list };
}

/** Errors for one field of one target (the exact field, or inside it). */
export function errorsFor(placed, target, field) {
  return (placed.byTarget[target] || []).filter((error) =>
    error.field === field || error.field.startsWith(`${field}.`) || error.field.startsWith(`${field}[`));
}

export function isSetting(name) {
  return SETTINGS.includes(name);
}
