// Words an operator reads instead of the definition's keys: an event by what the catalogue says it
// means, a field of the data in words, the automation's settings by what they do. The keys stay
// beside them where an engineer needs them (a small code element, see ui/fields.js). Pure.

/** "Invoice was paid" for invoice.paid, from the event catalogue; the key when it has none. */
export function eventLabel(type, eventTypes = {}) {
  return eventTypes?.[type]?.description || type;
}

export function lowerFirst(text) {
  return text ? `${text[0].toLowerCase()}${text.slice(1)}` : text;
}

function words(path) {
  return String(path).split(".").map((part) => part.replace(/_/g, " ")).join(" ");
}

/** A field path in words: "invoice.amount_due" -> "invoice amount due",
 *  "steps.retry.output.status" -> "retry's status" (an earlier step is known by its key). */
export function fieldWords(path) {
  const text = String(path ?? "");
  const output = /^steps\.([^.]+)\.output(?:\.(.+))?$/.exec(text);
  if (output) return `${output[1]}'s ${output[2] ? words(output[2]) : "output"}`;
  return words(text);
}

/** What a correlation key is about: "invoice.id" -> "invoice". */
export function subjectOf(correlationKey) {
  const parts = String(correlationKey || "").split(".").filter(Boolean);
  if (parts.length > 1 && ["id", "number"].includes(parts.at(-1))) parts.pop();
  return parts.length ? words(parts.join(".")) : "thing";
}

/** The automation's settings and retry policy fields, by their key in the definition. */
export const SETTING_LABELS = {
  name: "Name",
  description: "Description",
  correlation_key: "What a run is about",
  reentry: "Starting again",
  exit_on: "Events that end a run early",
  retry: "Retries",
  max_attempts: "Attempts at most",
  initial_interval: "First wait before trying again",
  backoff_coefficient: "Each wait longer by (times)",
  max_interval: "Longest wait",
  timezone: "Timezone",
  frequency_caps: "Frequency caps",
};

/** The choices of reentry in words, for runs about ``correlationKey``. */
export function reentryChoices(correlationKey) {
  const thing = subjectOf(correlationKey);
  return [["allow", "Every trigger starts a run"],
          ["skip_if_running", `Not while a run for the same ${thing} is under way`],
          ["once", `Only once ever for the same ${thing}`]];
}

/** A problem's place in words for the Problems list: "Settings · What a run is about". */
export function problemPlace(problem) {
  const targets = { trigger: "Trigger", conditions: "Entry conditions", settings: "Settings", flow: "Steps" };
  const where = targets[problem.target] || problem.target;
  if (!problem.field) return where;
  const field = problem.target === "settings" ? SETTING_LABELS[problem.field.split(/[.[]/)[0]] || problem.field : problem.field;
  return `${where} · ${field}`;
}

// What a version's change names besides the settings: the trigger and the entry conditions.
const DEFINITION_PARTS = { trigger: "Trigger", conditions: "Entry conditions" };

/** A setting (or the trigger, the entry conditions) of the definition by its name in words. */
function settingWords(key) {
  return SETTING_LABELS[key] || DEFINITION_PARTS[key] || key;
}

/** A version's (or a revision's) changes in one line, the settings by their names in words:
 *  "settings changed: What a run is about, Name; steps added: gentle". The server's line names
 *  the definition's keys (correlation_key); without the parts it is built from, it is kept. */
export function changeSummary(diff) {
  if (!diff) return "—";
  if (!Array.isArray(diff.settings)) return diff.summary || "—";
  const parts = [["settings changed", diff.settings.map(settingWords)], ["steps added", diff.added || []],
                 ["steps removed", diff.removed || []], ["steps changed", (diff.changed || []).map((item) => item.key)],
                 ["steps moved", (diff.moved || []).map((item) => item.key)]];
  return parts.filter(([, items]) => items.length).map(([label, items]) => `${label}: ${items.join(", ")}`).join("; ")
    || "no changes";
}

/** One line of a change, a setting's line opening with its name in words ("What a run is about:
 *  (none) -> invoice.id"); a step's line as it is. */
export function changeLine(line, diff) {
  const [key] = line.split(": ", 1);
  return (diff?.settings || []).includes(key) ? `${settingWords(key)}${line.slice(key.length)}` : line;
}
