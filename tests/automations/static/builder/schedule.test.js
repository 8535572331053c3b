import assert from "node:assert/strict";
import { test } from "node:test";

import { countsBusinessDays, withHolidays } from "../../../../automations/static/automations/builder/state/schedule.js";

const calendar = { kind: "calendar", rule: "first_business_day_of_month", time: "09:00", timezone: "Europe/Berlin" };

test("a country and region become the schedule's holiday calendar", () => {
  assert.deepEqual(withHolidays(calendar, " de", "BY").holidays, { country: "DE", subdiv: "BY" });
  assert.deepEqual(withHolidays(calendar, "US", "").holidays, { country: "US" });
  assert.equal(calendar.holidays, undefined, "the schedule given is not changed");
});

test("no country means no calendar, even with a region typed", () => {
  const bavaria = withHolidays(calendar, "DE", "BY");
  assert.equal("holidays" in withHolidays(bavaria, "", "BY"), false);
  assert.equal(withHolidays(bavaria, "", "").rule, "first_business_day_of_month");
});

test("only business-day rules count business days", () => {
  assert.equal(countsBusinessDays(calendar), true);
  assert.equal(countsBusinessDays({ ...calendar, rule: "last_business_day_of_month" }), true);
  assert.equal(countsBusinessDays({ ...calendar, rule: "first_day_of_month" }), false);
  assert.equal(countsBusinessDays({ kind: "cron", expression: "0 9 * * 1" }), false);
});
