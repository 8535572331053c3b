import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addCap, describeWindow, removeCap, takesSendWindow, withCap, withSendWindow,
} from "../../../../automations/static/automations/builder/state/messaging.js";

const config = { to: "{{ customer.email }}", subject: "Hi", body: "b" };

test("switching a send window on starts from weekdays, office hours", () => {
  const next = withSendWindow(config, { on: true });
  assert.deepEqual(next.send_window, { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00" });
  assert.equal(config.send_window, undefined, "the config given is not changed");
  assert.equal("send_window" in withSendWindow(next, { on: false }), false);
});

test("days are kept in week order, and all seven are written as none", () => {
  const on = withSendWindow(config, { on: true });
  assert.deepEqual(withSendWindow(on, { days: ["sun", "sat"] }).send_window.days, ["sat", "sun"]);
  const every = withSendWindow(on, { days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] });
  assert.equal("days" in every.send_window, false);
  assert.equal(withSendWindow(on, { to: "18:30" }).send_window.to, "18:30");
});

test("a change without a window does not create one", () => {
  assert.equal("send_window" in withSendWindow(config, { from: "08:00" }), false);
});

test("a window reads as a short sentence", () => {
  assert.equal(describeWindow({ days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "17:00" }), "mon-fri 09:00-17:00");
  assert.equal(describeWindow({ days: ["sat", "sun"], from: "10:00", to: "12:00" }), "sat, sun 10:00-12:00");
  assert.equal(describeWindow({ from: "08:00", to: "20:00" }), "every day 08:00-20:00");
});

test("only actions whose config takes a send window offer one", () => {
  assert.equal(takesSendWindow({ config_schema: { properties: { send_window: {} } } }), true);
  assert.equal(takesSendWindow({ config_schema: { properties: { url: {} } } }), false);
});

test("caps are added, edited and removed; an empty list stays", () => {
  const caps = addCap(undefined);
  assert.deepEqual(caps, [{ channels: ["email"], max: 1, period: "1d" }]);
  assert.deepEqual(withCap(caps, 0, { on_cap: "skip", max: 3 })[0], { channels: ["email"], max: 3, period: "1d", on_cap: "skip" });
  assert.equal("on_cap" in withCap(withCap(caps, 0, { on_cap: "skip" }), 0, { on_cap: undefined })[0], false);
  assert.deepEqual(removeCap(caps, 0), []);
});
