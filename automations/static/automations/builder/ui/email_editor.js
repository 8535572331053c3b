// send_email's panel: recipients from the schema form, then either a stored email template —
// edited right here (subject, body, HTML), shared by every step that sends it — or a subject and
// body written into the step; both with a preview rendered by the server on the sample data.

import { startingFields } from "../state/step_types.js";
import { h } from "./dom.js";
import { showErrors, textField } from "./fields.js";
import { schemaForm } from "./schema_form.js";

const ADDRESS_FIELDS = ["to", "cc", "bcc", "from", "reply_to"];

function debounce(fn, wait) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}

/** The preview, and "Send me a test email": ``templates()`` gives what is in the form now. */
function previewBox(app, templates) {
  return h("section", { class: "ab-preview", "aria-label": "Preview on the sample data" },
    h("h4", {}, "Preview on the sample data"),
    h("div", { "aria-live": "polite" },
      h("p", { class: "ab-preview__subject" }), h("pre", { class: "ab-preview__body" }),
      h("ul", { class: "ab-errors" })),
    sendToMe(app, templates));
}

/** The rendered email sent to the operator's own address through the real mail server, marked as a test. */
function sendToMe(app, templates) {
  const status = h("span", { class: "ab-saved-note", role: "status" });
  const button = h("button", { type: "button", class: "button", onclick: async () => {
    button.disabled = true;
    status.textContent = "Sending…";
    try {
      const sent = await app.api.post(`send-preview-email/${app.templateQuery()}`, {
        templates: templates(), data: app.sampleData(), definition: app.definition(), step: app.state.selected });
      status.textContent = `Sent to ${sent.to}, marked as a test.`;
    } catch (error) {
      status.textContent = `Not sent: ${(error.errors || []).map((item) => item.message).join("; ") || error.message}`;
    } finally {
      button.disabled = false;
    }
  } }, "Send me a test email");
  return h("div", { class: "ab-row ab-send-test" }, button, status);
}

/** Ask the server to render ``templates`` ({subject, body, html}) of the selected step and show
 *  them in ``box``: on the test data, with earlier steps' outputs as test mode predicts them. */
async function renderPreview(app, box, templates) {
  try {
    const answer = await app.api.post(`render-preview/${app.templateQuery()}`, {
      templates, data: app.sampleData(), definition: app.definition(), step: app.state.selected });
    box.querySelector(".ab-preview__subject").textContent = `Subject: ${answer.rendered.subject ?? ""}`;
    box.querySelector(".ab-preview__body").textContent = answer.rendered.body ?? answer.rendered.body_text ?? "";
    box.querySelector(".ab-errors").replaceChildren(
      ...answer.errors.map((error) => h("li", {}, `${error.field}: ${error.message}`)),
      ...(answer.warnings || []).map((warning) => h("li", { class: "ab-warning" },
        `Check: ${warning.message} in ${warning.field} (on this sample data)`)));
  } catch (error) {
    box.querySelector(".ab-errors").replaceChildren(h("li", {}, error.message));
  }
}

const NO_TEMPLATES = "You may not see email templates: reading them needs the permission to view email templates.";

function storedTemplateEditor(app, key, readOnly) {
  if (!app.permissions.viewEmailTemplate) return h("p", { class: "ab-help" }, NO_TEMPLATES);
  const template = app.catalog.emailTemplates.find((item) => item.key === key);
  if (!template) return h("p", { class: "ab-help" }, key ? `There is no email template called ${key}.` : "Choose a template.");
  // What the API takes back: the editable fields (the key names the template and never changes).
  const draft = { name: template.name, subject: template.subject, body_text: template.body_text,
                  body_html: template.body_html };
  const box = previewBox(app, () => ({ subject: draft.subject, body: draft.body_text, html: draft.body_html }));
  const refresh = debounce(() => renderPreview(app, box, { subject: draft.subject, body: draft.body_text }), 300);
  // One that comes with an unsaved library template is created when the automation is saved.
  const canSave = app.permissions.changeEmailTemplate && !readOnly && !template.pending;
  const status = h("span", { class: "ab-saved-note", role: "status" });
  const picker = () => app.variables(app.state.selected);
  const form = h("div", { class: "ab-email-template" },
    h("p", { class: "ab-help" }, template.pending
      ? `Email template ${key} comes with ${app.template?.title || "the template"}: it is created when you save the draft, and can be edited here after that.`
      : `Email template ${key}: shared by every step that sends it; saved on its own.`),
    textField({ field: "template.subject", label: "subject", value: draft.subject, readOnly: !canSave, picker,
                onInput: (text) => { draft.subject = text; refresh(); } }),
    textField({ field: "template.body_text", label: "body", value: draft.body_text, multiline: true, rows: 8,
                readOnly: !canSave, picker, onInput: (text) => { draft.body_text = text; refresh(); } }),
    textField({ field: "template.body_html", label: "html", value: draft.body_html, multiline: true, rows: 4,
                readOnly: !canSave, picker, help: "Optional HTML version.",
                onInput: (text) => { draft.body_html = text; } }),
    canSave ? h("div", { class: "ab-row" },
      h("button", { type: "button", class: "button", onclick: async () => {
        try {
          const saved = await app.api.put(`email-templates/${encodeURIComponent(key)}/`, draft);
          Object.assign(template, saved);
          status.textContent = "Email template saved.";
          showErrors(form, []);
          app.drafts.validateSoon(0); // the steps that send it are checked against the fields it now reads
        } catch (error) {
          status.textContent = "Not saved.";
          showErrors(form, error.errors.map((item) => ({ ...item, field: `template.${item.field}` })));
        }
      } }, "Save email template"), status) : null,
    box);
  refresh();
  return form;
}

/** The send_email panel for ``step``; ``change(name, value)`` edits its config. */
export function emailPanel(app, step, action, change, readOnly) {
  const config = step.config || {};
  const usesTemplate = "template" in config || !("subject" in config);
  const picker = () => app.variables(step.key);
  const name = `mode-${step.key}`;
  const body = h("div", { class: "ab-email-content" });
  const draw = (templated) => {
    // What the step holds now: switching between a template and inline content changes it.
    const config = app.step(step.key)?.config || {};
    if (templated) {
      // Without the templates' list, the step's own template is still named (not "choose…").
      const known = app.catalog.emailTemplates.some((item) => item.key === config.template);
      const templates = known || !config.template ? app.catalog.emailTemplates
        : [...app.catalog.emailTemplates, { key: config.template }];
      const select = h("select", { id: `template-${step.key}`, disabled: readOnly },
        h("option", { value: "" }, "choose…"),
        templates.map((item) => h("option", { value: item.key, selected: item.key === config.template },
          `${item.key}${item.name ? ` — ${item.name}` : ""}`)));
      // The editor and preview below follow the choice: left on the previous template, they would
      // show its text, and its Save button would change a template this step no longer sends.
      select.addEventListener("change", () => {
        change("template", select.value || undefined);
        draw(true);
        body.querySelector(`#${CSS.escape(select.id)}`)?.focus();
      });
      body.replaceChildren(
        h("div", { class: "ab-field", "data-field": "config.template" },
          h("label", { class: "ab-label", for: select.id }, "template"), select,
          h("ul", { class: "ab-errors", "aria-live": "polite" })),
        storedTemplateEditor(app, config.template, readOnly));
    } else {
      const box = previewBox(app, () => {
        const current = app.step(step.key)?.config || {};
        return { subject: current.subject || "", body: current.body || "", html: current.html || "" };
      });
      const refresh = debounce((current) => renderPreview(app, box, { subject: current.subject || "", body: current.body || "" }), 300);
      body.replaceChildren(schemaForm({ action, config, readOnly, picker, only: ["subject", "body", "html"],
                                        onChange: (field, value) => { change(field, value); refresh(app.step(step.key).config || {}); } }), box);
      refresh(config);
    }
  };
  const radio = (value, label, checked) => h("label", { class: "ab-radio" },
    h("input", { type: "radio", name, value, checked, disabled: readOnly, onchange: () => {
      if (value === "template") change("template", app.catalog.emailTemplates[0]?.key, ["subject", "body", "html"]);
      else {
        const { subject, body: text } = startingFields("action", "send_email").config;
        change("subject", subject, ["template"], { body: text });
      }
      draw(value === "template");
    } }), ` ${label}`);
  draw(usesTemplate);
  return h("div", { class: "ab-email" },
    schemaForm({ action, config, readOnly, picker, only: ADDRESS_FIELDS, onChange: change }),
    h("fieldset", { class: "ab-choice" }, h("legend", {}, "Content"),
      radio("template", "a stored email template", usesTemplate),
      radio("inline", "written here", !usesTemplate)),
    body);
}
