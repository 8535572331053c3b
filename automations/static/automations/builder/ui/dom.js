// A small helper to build DOM without innerHTML (no markup from data ever reaches the parser).

/** h("button", {class: "x", onclick: fn, "aria-label": "Add"}, "text", child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "value" && "value" in element) {
      element.value = value;
    } else if (name === "checked" || name === "disabled" || name === "selected" || name === "hidden") {
      element[name] = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

let counter = 0;
/** A document-unique id for label/for and aria-describedby pairs. */
export function uid(prefix = "ab") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Say ``text`` to assistive technology through the page's polite live region. */
export function announce(text) {
  const region = document.getElementById("ab-live");
  if (!region) return;
  region.textContent = "";
  // A new text node in a separate task makes screen readers read it even when it repeats.
  setTimeout(() => { region.textContent = text; }, 30);
}

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** "2026-11-23 10:00 UTC": the admin's own way of writing a moment, on every page of ours. */
export function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "2026-12-01 09:00 Europe/Berlin": a moment on the wall clock of ``zone`` (an IANA name); the
 *  UTC form when the zone is UTC or one this browser does not know. */
export function formatTimeIn(value, zone) {
  const date = new Date(value);
  if (!zone || zone === "UTC" || Number.isNaN(date.getTime())) return formatTime(value);
  try {
    // Sweden's locale writes ISO order (2026-12-01 09:00), whatever the operator's own locale.
    const local = new Intl.DateTimeFormat("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(date);
    return `${local} ${zone}`;
  } catch (error) {
    if (error instanceof RangeError) return formatTime(value);  // an unknown zone: the server says so
    throw error;
  }
}
