// A library template shown in the builder unsaved: nothing, not even its email templates, is
// created until Save draft; until then its email templates are shown as coming with it, and the
// server is told which template the definition came from when it checks or tests it.

import { clone } from "../state/tree.js";
import { h } from "./dom.js";

/** Start ``app`` on ``template`` (a library entry); returns the definition to show. */
export function startFromTemplate(app, template) {
  app.template = template;
  app.origin = clone(template.definition);
  if (app.permissions.viewEmailTemplate) {
    const known = new Set(app.catalog.emailTemplates.map((item) => item.key));
    app.catalog.emailTemplates.push(...template.emailTemplates.filter((item) => !known.has(item.key))
      .map((item) => ({ ...item, pending: true })));
  }
  return clone(template.definition);
}

/** Say where the definition comes from and that nothing is saved yet, with a way out. */
export function announceTemplate(app) {
  app.notices.show(`${app.template.title}, from the library: nothing is created until you save the draft.`, "template",
    h("button", { type: "button", class: "button", onclick: () => cancelTemplate(app) }, "Cancel"));
}

/** Leave the template unsaved: nothing was created, and nothing of it is kept in this browser. */
function cancelTemplate(app) {
  app.local.forget();
  app.leaving = true;
  window.location.assign(app.config.urls.add);
}

/** The template is saved as a new automation: its email templates exist now. */
export async function templateSaved(app) {
  app.template = null;
  app.notices.clear("template");
  if (app.permissions.viewEmailTemplate) app.catalog.emailTemplates = await app.api.listAll("email-templates/");
}

/** Before a library template is saved, requests about it name it (``?template=``): the server
 *  then counts its email templates as installed. */
export function templateQuery(template) {
  return template ? `?template=${encodeURIComponent(template.key)}` : "";
}
