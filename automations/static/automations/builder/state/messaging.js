// A message step's send window and the automation's frequency caps as the side panel edits
// them: pure functions, no DOM. The server stays the one validator.

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const CHANNELS = ["email", "sms", "slack"];

/** Whether ``action`` (a catalogue entry) sends a message: its config takes a send window. */
export function takesSendWindow(action) {
  return Boolean(action?.config_schema?.properties?.send_window);
}

/**
 * ``config`` with its send window changed by ``changes`` ({on, days, from, to}). Switching it on
 * starts from weekdays 09:00-17:00; every day ticked is written as no ``days`` (the default);
 * switching it off removes it.
 */
export function withSendWindow(config, changes) {
  const next = { ...(config || {}) };
  if (changes.on === false) {
    delete next.send_window;
    return next;
  }
  const current = next.send_window || (changes.on ? { days: DAYS.slice(0, 5), from: "09:00", to: "17:00" } : null);
  if (!current) return next;
  const window = { ...current };
  if (changes.days) {
    const days = DAYS.filter((day) => changes.days.includes(day));
    if (days.length === DAYS.length) delete window.days;
    else window.days = days;
  }
  for (const field of ["from", "to"]) {
    if (changes[field] !== undefined) window[field] = changes[field];
  }
  next.send_window = window;
  return next;
}

/** The days a window sends on (every day when it names none). */
export function windowDays(window) {
  return window?.days?.length ? window.days : DAYS;
}

/** "mon-fri 09:00-17:00", "sat, sun 10:00-12:00", "every day 08:00-20:00" for a card's summary. */
export function describeWindow(window) {
  if (!window) return "";
  const days = windowDays(window);
  const indexes = days.map((day) => DAYS.indexOf(day)).sort((a, b) => a - b);
  const consecutive = indexes.every((index, position) => position === 0 || index === indexes[position - 1] + 1);
  let label = days.join(", ");
  if (days.length === DAYS.length) label = "every day";
  else if (days.length > 2 && consecutive) label = `${DAYS[indexes[0]]}-${DAYS[indexes.at(-1)]}`;
  return `${label} ${window.from ?? "?"}-${window.to ?? "?"}`;
}

/** The caps list with cap ``index`` changed by ``changes`` (a field set to undefined is removed). */
export function withCap(caps, index, changes) {
  return (caps || []).map((cap, position) => {
    if (position !== index) return cap;
    const next = { ...cap, ...changes };
    for (const [name, value] of Object.entries(changes)) if (value === undefined) delete next[name];
    return next;
  });
}

/** The caps list with a new cap (one email a day, delayed) at the end. */
export function addCap(caps) {
  return [...(caps || []), { channels: ["email"], max: 1, period: "1d" }];
}

/** The caps list without cap ``index``; an empty list stays: it exempts the automation. */
export function removeCap(caps, index) {
  return (caps || []).filter((_, position) => position !== index);
}
