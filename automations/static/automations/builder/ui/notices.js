// The messages above the flow: one per kind ("error", "deleted", "conflict", ...), a newer one of
// the same kind replacing the older, each removed once what it says no longer holds.

import { h } from "./dom.js";

// How a kind looks: a refusal reads as an error, what a reload or an overwrite did as information.
const TONES = { conflict: "error", reloaded: "info", "saved-over": "info", restored: "info" };

export class Notices {
  constructor() {
    this.element = h("div", { class: "ab-notices", role: "status" });
  }

  /** Show ``text`` (and ``extra`` buttons) as the notice of ``kind``. */
  show(text, kind = "info", ...extra) {
    this.clear(kind);
    this.element.append(h("div", { class: `ab-notice ab-notice--${TONES[kind] || kind}`, "data-kind": kind },
      h("span", {}, text), ...extra));
  }

  /** Remove the notices of these kinds (all of them when none is named). */
  clear(...kinds) {
    for (const element of [...this.element.children]) {
      if (!kinds.length || kinds.includes(element.dataset.kind)) element.remove();
    }
  }
}
