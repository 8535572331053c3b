// Undo and redo over whole definitions. Pure: each function returns a new history.
//
// Edits that belong together (the keystrokes typed into one field) share a ``group``: the next
// edit of the same group replaces the present instead of adding an undo step, so one Undo takes
// back the whole word rather than its last letter, and never more than that field.

export function createHistory(present, limit = 200) {
  return { past: [], present, future: [], group: null, limit };
}

export function record(history, next, group = null) {
  if (next === history.present) return history;
  if (group && group === history.group) {
    return { ...history, present: next, future: [] };
  }
  const past = [...history.past, history.present].slice(-history.limit);
  return { ...history, past, present: next, future: [], group };
}

/** Ends the current group: the next edit is its own undo step even in the same field. */
export function seal(history) {
  return history.group ? { ...history, group: null } : history;
}

export function canUndo(history) {
  return history.past.length > 0;
}

export function canRedo(history) {
  return history.future.length > 0;
}

export function undo(history) {
  if (!canUndo(history)) return history;
  const previous = history.past[history.past.length - 1];
  return { ...history, past: history.past.slice(0, -1), present: previous,
           future: [history.present, ...history.future], group: null };
}

export function redo(history) {
  if (!canRedo(history)) return history;
  const [next, ...future] = history.future;
  return { ...history, past: [...history.past, history.present], present: next, future, group: null };
}

/** A new present that is not an edit (a save's canonical answer, a reload): history restarts. */
export function reset(history, present) {
  return createHistory(present, history.limit);
}
