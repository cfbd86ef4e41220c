/* global document, window, location, fetch, setTimeout, setInterval, DOMParser, CustomEvent, EventSource */
// rotor dashboard: live updates without a build step. The server sends a "change" event (SSE) when
// the audit trail or a run's steps move; the page then fetches itself again and swaps every
// [data-live] section by id. Forms are outside those sections, so typing is never interrupted.
(() => {
  'use strict';
  const live = document.getElementById('live');
  let pending = null;
  let busy = false;

  async function refresh() {
    if (busy) return void (pending ??= setTimeout(tick, 300));
    busy = true;
    try {
      const res = await fetch(location.href, { headers: { 'X-Rotor-Live': '1' }, credentials: 'same-origin' });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      for (const el of document.querySelectorAll('[data-live][id]')) {
        const fresh = doc.getElementById(el.id);
        if (fresh && fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
      }
      document.dispatchEvent(new CustomEvent('rotor:refreshed'));
    } finally {
      busy = false;
    }
  }

  function tick() {
    pending = null;
    void refresh();
  }

  function connect() {
    if (!window.EventSource || !document.querySelector('[data-live]')) return;
    const es = new EventSource('/events');
    es.addEventListener('open', () => {
      if (live) live.classList.add('on');
      // What changed between the page's render and this (re)connection sent no event to this page.
      if (!pending) pending = setTimeout(tick, 150);
    });
    es.addEventListener('change', () => {
      if (pending) return;
      pending = setTimeout(tick, 150);
    });
    es.addEventListener('error', () => live && live.classList.remove('on'));
  }

  // The emergency button stays disabled until the secret id is typed exactly.
  for (const input of document.querySelectorAll('input[data-must-equal]')) {
    const button = input.form && input.form.querySelector('button[type=submit]');
    const update = () => {
      if (button) button.disabled = input.value.trim() !== input.dataset.mustEqual;
    };
    input.addEventListener('input', update);
    update();
  }

  // `/` focuses the page's filter (the inventory's id search, the audit's secret...), unless typing.
  document.addEventListener('keydown', (e) => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    const filter = document.querySelector('input[data-filter]');
    if (!filter) return;
    e.preventDefault();
    filter.focus();
    filter.select();
  });

  // Relative times ("in 1m 40s") are the server's words: look again every 30 s while visible.
  setInterval(() => {
    if (document.visibilityState === 'visible' && !pending && document.querySelector('[data-live] time')) void refresh();
  }, 30_000);

  connect();
})();
