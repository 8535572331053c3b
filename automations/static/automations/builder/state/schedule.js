// A schedule's holiday calendar as the schedule editor changes it: pure functions, no DOM.

/**
 * ``schedule`` with the holiday calendar the two inputs name. No country means no calendar (the
 * business-day rules then skip weekends only); a region is kept only beside a country. The
 * country is upper-cased as ISO codes are written; the region is left as typed, since some
 * countries' subdivisions are not upper-case codes. The server stays the one validator.
 */
export function withHolidays(schedule, country, subdiv) {
  const next = { ...schedule };
  const code = (country ?? "").trim().toUpperCase();
  const region = (subdiv ?? "").trim();
  if (!code) delete next.holidays;
  else next.holidays = region ? { country: code, subdiv: region } : { country: code };
  return next;
}

/** Whether the schedule counts business days, so that a holiday calendar changes its runs. */
export function countsBusinessDays(schedule) {
  return schedule?.kind === "calendar" && String(schedule.rule ?? "").includes("business_day");
}
