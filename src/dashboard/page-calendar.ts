// The calendar page: upcoming rotations for the next 30 days, a section per day (UTC) and in it a
// group per rotation window, each secret with how many times it rotates that day and when.
import { absolute, relative } from '../time-text.js';
import type { CalendarEntry } from './calendar.js';
import type { CalendarFilter, CalendarView } from './details.js';
import { html, raw, type Html } from './html.js';
import { layout, secretLink, targetLink, withQuery, type PageMeta } from './layout.js';

/** The same column widths in every window's table, so a day reads as one list. */
const COLUMNS = raw('<colgroup><col class="when"><col class="id"><col><col><col><col class="target"></colgroup>');

const WEEKDAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function dayTitle(day: Date, now: Date): string {
  const today = Math.floor(now.getTime() / 86_400_000);
  const n = Math.floor(day.getTime() / 86_400_000) - today;
  const name = `${WEEKDAY[day.getUTCDay()]} ${absolute(day).slice(0, 10)}`;
  return n === 0 ? `${name} · today` : n === 1 ? `${name} · tomorrow` : `${name} · in ${n} days`;
}

/** `14:02Z`, or `14:02Z-23:58Z ×720` for a secret that rotates many times that day. */
function when(e: CalendarEntry, now: Date): Html {
  const clock = (d: Date) => absolute(d).slice(11, 16) + 'Z';
  const first = html`<time datetime="${e.first.toISOString()}" title="${relative(e.first, now)}">${clock(e.first)}</time>`;
  if (e.count === 1) return first;
  return html`${first}–<time datetime="${e.last.toISOString()}">${clock(e.last)}</time> <b>×${e.count}</b>`;
}

export function calendarPage(meta: PageMeta, v: CalendarView, f: CalendarFilter, now: Date): Html {
  const days = v.days.map(
    (
      d,
    ) => html`<section class="day" data-day="${d.day.toISOString().slice(0, 10)}"><h2>${dayTitle(d.day, now)} <span class="muted">${d.rotations} rotation${d.rotations === 1 ? '' : 's'}</span></h2>
${d.windows.map(
  (
    w,
  ) => html`<table class="grid calendar" data-window="${w.window}">${COLUMNS}<thead><tr><th colspan="6">window: ${w.window}</th></tr></thead><tbody>
${w.entries.map(
  (e) =>
    html`<tr data-secret="${e.id}"><td class="when">${when(e, now)}</td><td>${secretLink(e.id)}${e.rotating ? html` <span class="badge s-rotating">rotating</span>` : e.late ? html` <span class="badge s-overdue">due now</span>` : ''}</td>
<td>${e.cadence}</td><td>${e.className ?? '-'}</td><td>${e.owner ?? '-'}</td><td>${targetLink(e.targetKey)}</td></tr>`,
)}</tbody></table>`,
)}</section>`,
  );
  const base = { q: f.q, class: f.class, owner: f.owner, target: f.target, days: f.days };
  return layout(
    meta,
    html`<h1>Upcoming rotations <span class="muted">· next ${v.horizonDays} days</span></h1>
<p class="muted">When each secret is next due, then as the scheduler will compute it: cadence, rotation window and jitter (times in UTC). Emergencies and manual rotations come on top.</p>
<form class="filters" method="get" action="/calendar"><label>Id contains <input name="q" value="${f.q ?? ''}" size="16" data-filter placeholder="press /"></label>
<label>Class <input name="class" value="${f.class ?? ''}" size="10"></label><label>Owner <input name="owner" value="${f.owner ?? ''}" size="10"></label>
<label>Target <input name="target" value="${f.target ?? ''}" size="24"></label><label>Days <input name="days" type="number" min="1" max="30" value="${v.horizonDays}"></label>
<button type="submit">Filter</button> <a href="/calendar">reset</a></form>
<section id="calendar" data-live>${
      v.shown < v.total
        ? html`<p class="muted">${v.total} secrets are due within ${v.horizonDays} days; the ${v.shown} soonest are shown. <a href="/calendar${withQuery(base, { days: Math.max(1, Math.floor(v.horizonDays / 2)) })}">Fewer days</a> or a filter shows the rest.</p>`
        : ''
    }${days.length ? days : html`<p class="muted">No rotation is due in the next ${v.horizonDays} days.</p>`}</section>`,
  );
}
