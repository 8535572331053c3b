// Small stroke icons for the cards (drawn here, so the page needs no icon font or image request).
// A step type's icon is the one the server's step-type catalogue names; "step" is the generic one,
// for a type whose icon this set does not have; a trigger kind's, the trigger-kind catalogue's
// ("trigger" the generic one).

import { stepType } from "../state/step_types.js";
import { triggerKind } from "../state/trigger_kinds.js";

const SVG = "http://www.w3.org/2000/svg";

const SHAPES = {
  trigger: ["M13 2 4 14h7l-1 8 9-12h-7z"],
  manual: ["M8 13V4.5a1.5 1.5 0 0 1 3 0V12", "M11 11.5v-2a1.5 1.5 0 0 1 3 0V12", "M14 10.5a1.5 1.5 0 0 1 3 0V12",
           "M17 11.5a1.5 1.5 0 0 1 3 0V16a6 6 0 0 1-6 6h-2a6 6 0 0 1-4.6-2.2L4.3 16a1.5 1.5 0 0 1 2.3-2L8 15.5"],
  conditions: ["M3 5h18", "M6 12h12", "M10 19h4"],
  settings: ["M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M12 2v3", "M12 19v3", "M2 12h3", "M19 12h3", "M5 5l2 2", "M17 17l2 2", "M5 19l2-2", "M17 7l2-2"],
  email: ["M3 6h18v12H3z", "M3 6l9 7 9-7"],
  sms: ["M4 4h16v12H8l-4 4z"],
  slack: ["M9 3v18", "M15 3v18", "M3 9h18", "M3 15h18"],
  webhook: ["M10 13a4 4 0 0 0 6 0l3-3a4 4 0 0 0-6-6l-1 1", "M14 11a4 4 0 0 0-6 0l-3 3a4 4 0 0 0 6 6l1-1"],
  money: ["M12 2v20", "M17 6H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6"],
  void: ["M4 4l16 16", "M6 2h12v20H6z"],
  record: ["M4 4h16v16H4z", "M8 9h8", "M8 13h8", "M8 17h5"],
  tag: ["M3 3h8l10 10-8 8L3 11z", "M7.5 7.5h.01"],
  task: ["M4 4h16v16H4z", "M8 12l3 3 5-6"],
  action: ["M12 2l3 7h7l-6 4 2 8-6-5-6 5 2-8-6-4h7z"],
  delay: ["M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z", "M12 6v6l4 2"],
  branch: ["M6 3v12", "M18 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M6 21a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M18 9a9 9 0 0 1-9 9"],
  split: ["M12 22v-8", "M12 14L5 5", "M12 14l7-9", "M5 10V5h5", "M19 10V5h-5"],
  loop: ["M17 2l4 4-4 4", "M3 11V9a4 4 0 0 1 4-4h14", "M7 22l-4-4 4-4", "M21 13v2a4 4 0 0 1-4 4H3"],
  stop: ["M7.9 2h8.2L22 7.9v8.2L16.1 22H7.9L2 16.1V7.9z", "M9 9h6v6H9z"],
  wait_for: ["M5 2h14", "M5 22h14", "M7 2c0 6 10 6 10 10S7 16 7 22", "M17 2c0 6-10 6-10 10s10 4 10 10"],
  approval: ["M12 2l8 3v6c0 5-3.5 9-8 11-4.5-2-8-6-8-11V5z", "M8.5 12l2.5 2.5 4.5-5"],
  step: ["M12 2l9 5v10l-9 5-9-5V7z", "M3 7l9 5 9-5", "M12 12v10"],
  drag: ["M9 5h.01", "M15 5h.01", "M9 12h.01", "M15 12h.01", "M9 19h.01", "M15 19h.01"],
  up: ["M12 19V5", "M5 12l7-7 7 7"],
  down: ["M12 5v14", "M19 12l-7 7-7-7"],
  moveto: ["M5 12h14", "M13 6l6 6-6 6"],
  copy: ["M9 9h11v11H9z", "M5 15H4V4h11v1"],
  trash: ["M3 6h18", "M8 6V4h8v2", "M6 6l1 14h10l1-14"],
  plus: ["M12 5v14", "M5 12h14"],
  chevron: ["M6 9l6 6 6-6"],
};

const ACTION_ICONS = {
  send_email: "email", send_sms: "sms", send_slack: "slack", send_webhook: "webhook",
  retry_payment: "money", create_credit_note: "money", apply_credits: "money", void_invoice: "void",
  update_customer: "record", sync_to_crm: "record", add_tag: "tag", create_task: "task",
};

export function actionIcon(action) {
  return ACTION_ICONS[action] || "action";
}

/** The icon of a step type (the catalogue's), or the generic one. */
export function typeIcon(type) {
  const name = stepType(type)?.icon;
  return SHAPES[name] ? name : "step";
}

/** The icon of a trigger kind (the trigger-kind catalogue's), or the generic one. */
export function triggerIcon(type) {
  const name = triggerKind(type)?.icon;
  return SHAPES[name] ? name : "trigger";
}

export function iconName(step) {
  if (step.type === "action") return actionIcon(step.action);
  return typeIcon(step.type);
}

export function icon(name, label = "") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `ab-icon ab-icon--${name}`);
  svg.setAttribute("focusable", "false");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  for (const d of SHAPES[name] || SHAPES.step) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
