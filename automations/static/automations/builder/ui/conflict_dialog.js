// The dialog shown when the server refuses a save, an activation or a restore because someone
// saved (or activated) the draft since this page read it: who did what and when, and the ways on —
// Reload their draft (this page's undo history starts again from it), Compare (the versions' diff
// view: what they changed, what mine would change), Overwrite theirs with mine — or Cancel to keep
// editing.

import { formatTime, h } from "./dom.js";
import { diffList } from "./versions_panel.js";

/** "alice saved draft v3 at 2026-11-20 10:05 UTC", from the 412's error. */
export function describeConflict(conflict) {
  const what = conflict.event === "activated" ? `activated version ${conflict.version}` : `saved draft v${conflict.version}`;
  return `${conflict.author || "Someone"} ${what} at ${formatTime(conflict.at)}`;
}

function choice(label, help, onclick, extra = {}) {
  const id = `ab-conflict-${label.toLowerCase().replace(/\s+/g, "-")}-help`;
  return h("li", { class: "ab-conflict__choice" },
    h("button", { type: "button", class: `button ${extra.class || ""}`.trim(), "aria-describedby": id, onclick,
                  ...extra.attrs }, label),
    h("span", { id, class: "ab-help" }, help));
}

// What each refused operation is called in the dialog: its title, what doing it anyway means.
const REFUSED = {
  save: { title: "Your changes were not saved", why: "Saving yours now would undo their changes.",
          overwrite: "Overwrite", overwriteHelp: (whose) => `Save your draft over ${whose}; their changes are lost.` },
  activate: { title: "Not activated: the draft has changed",
              why: "Activate only a draft you have seen: reload theirs first, or save yours over it.",
              overwrite: "Overwrite", overwriteHelp: (whose) => `Save your draft over ${whose}; their changes are lost.` },
  restore: { title: "Not restored: the draft has changed",
             why: "Restoring now would replace their changes too.",
             overwrite: "Restore anyway", overwriteHelp: (whose) => `Restore over ${whose}; their changes are lost.` },
};

export class ConflictDialog {
  constructor() {
    this.element = h("dialog", { class: "ab-dialog ab-conflict", "aria-labelledby": "ab-conflict-title",
                                 "aria-describedby": "ab-conflict-text" });
    document.body.append(this.element);
  }

  /** Ask what to do about ``conflict`` (the 412's error); resolves "reload", "overwrite" or "cancel".
   *  ``action``: what was refused — "save" (what is on screen), "activate" or "restore". */
  ask(conflict, { action }) {
    const words = REFUSED[action];
    return new Promise((resolve) => {
      const dialog = this.element;
      const done = (answer) => {
        dialog.removeEventListener("cancel", onCancel);
        dialog.close();
        resolve(answer);
      };
      const onCancel = (event) => {
        event.preventDefault();
        done("cancel");
      };
      const whose = conflict.author ? `${conflict.author}'s` : "the saved";
      const compare = h("section", { id: "ab-conflict-compare", class: "ab-conflict__compare", hidden: true,
                                     "aria-label": "Differences" },
        h("h3", {}, `What ${conflict.author || "they"} changed since you opened the draft`),
        conflict.changes ? diffList(conflict.changes)
          : h("p", { class: "ab-help" }, "The draft you opened is no longer in the history."),
        action === "save" ? [h("h3", {}, "What Overwrite would change in their draft"), diffList(conflict.overwrite)] : null);
      const compareButton = choice("Compare", "See their changes and yours side by side, then choose.", () => {
        compare.hidden = !compare.hidden;
        compareButton.querySelector("button").setAttribute("aria-expanded", String(!compare.hidden));
      }, { attrs: { "aria-expanded": "false", "aria-controls": "ab-conflict-compare" } });
      dialog.replaceChildren(
        h("h2", { id: "ab-conflict-title" }, words.title),
        h("p", { id: "ab-conflict-text" }, `${describeConflict(conflict)}, after you opened this draft. `, words.why),
        h("ul", { class: "ab-conflict__choices" },
          choice("Reload", `Take ${whose} draft; what you changed here is dropped, and Undo starts again from theirs.`,
            () => done("reload"), { class: "default" }),
          compareButton,
          choice(words.overwrite, words.overwriteHelp(whose), () => done("overwrite"))),
        compare,
        h("div", { class: "ab-popover-buttons" },
          h("button", { type: "button", class: "ab-link-button", onclick: () => done("cancel") },
            "Cancel and keep editing")));
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      dialog.querySelector("button").focus();
    });
  }
}
