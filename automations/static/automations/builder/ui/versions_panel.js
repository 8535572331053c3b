// The Versions tab: every version (number, state, author, times, the version it was restored
// from) with a readable diff against the one before and Restore into the draft; below, the
// draft's revisions (every save, a restore saying so), each with its diff and Restore.

import { changeLine, changeSummary } from "../state/labels.js";
import { formatTime, h } from "./dom.js";

export function diffList(diff) {
  const lines = diff?.lines || [];
  if (!lines.length) return h("p", { class: "ab-help" }, "No changes to the definition.");
  return h("ul", { class: "ab-diff" }, lines.map((line) => {
    const kind = line.startsWith("added") ? "added" : line.startsWith("removed") ? "removed"
      : line.startsWith("moved") ? "moved" : "changed";
    return h("li", { class: `ab-diff__${kind}` }, changeLine(line, diff));
  }));
}

function versionItem(app, version) {
  const live = app.state.automation?.live_executions?.[String(version.number)];
  return h("li", { class: `ab-version ab-version--${version.state}` },
    h("div", { class: "ab-version__head" },
      h("strong", {}, `Version ${version.number}`), " ",
      h("span", { class: `ab-state ab-state--${version.state}` }, version.state),
      version.restored_from ? h("span", { class: "ab-origin" }, `restored from v${version.restored_from}`) : null,
      live ? h("span", { class: "ab-help" }, ` · ${live} live run${live === 1 ? "" : "s"}`) : null),
    h("p", { class: "ab-help" }, `by ${version.author || "—"}, created ${formatTime(version.created_at)}`
      + `${version.activated_at ? `, activated ${formatTime(version.activated_at)}` : ""}`),
    h("details", {}, h("summary", {}, `Changes: ${changeSummary(version.diff)}`), diffList(version.diff)),
    app.canEdit && version.state !== "draft" ? h("button", {
      type: "button", class: "button", onclick: () => app.drafts.restoreVersion(version.number),
    }, `Restore version ${version.number} into the draft`) : null);
}

function revisionItem(app, revision, index) {
  return h("li", { class: "ab-revision" },
    h("div", { class: "ab-version__head" },
      h("strong", {}, revision.event === "activated" ? `Version ${revision.version} activated` : `Draft v${revision.version} saved`),
      h("span", { class: "ab-help" }, ` by ${revision.author || "—"}, ${formatTime(revision.at)}`)),
    revision.note ? h("p", { class: "ab-origin" }, `${revision.note[0].toUpperCase()}${revision.note.slice(1)}`) : null,
    h("details", { open: index === 0 }, h("summary", {}, changeSummary(revision.diff)), diffList(revision.diff)),
    app.canEdit && index > 0 ? h("button", {
      type: "button", class: "button", onclick: () => app.drafts.restoreRevision(revision.id),
    }, "Restore this revision") : null);
}

export function versionsPanel(app) {
  const container = h("div", { class: "ab-versions", "aria-live": "polite" }, h("p", { class: "ab-help" }, "Loading…"));
  if (!app.state.automation) {
    container.replaceChildren(h("p", { class: "ab-help" }, "Versions appear once the automation is saved."));
    return container;
  }
  const id = app.state.automation.id;
  Promise.all([app.api.get(`automations/${id}/versions/`), app.api.get(`automations/${id}/revisions/`)])
    .then(([versions, revisions]) => {
      container.replaceChildren(
        h("h3", {}, "Versions"),
        h("ol", { class: "ab-version-list" }, versions.results.map((version) => versionItem(app, version))),
        h("h3", {}, "Draft revisions"),
        h("p", { class: "ab-help" }, "Every save of a draft, newest first."),
        h("ol", { class: "ab-version-list" }, revisions.results.map((revision, index) => revisionItem(app, revision, index))));
    })
    .catch((error) => container.replaceChildren(h("p", { class: "ab-errors-inline" }, error.message)));
  return container;
}
