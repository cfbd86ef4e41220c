// Escaping in page templates: anything interpolated is text unless it is already Html.
import { describe, expect, it } from 'vitest';
import { html, raw } from '../../../src/dashboard/html.js';

describe('html', () => {
  it('escapes markup and both quote characters in text and attributes', () => {
    const id = `x"><script>alert('1')</script>&`;
    expect(html`<a title="${id}">${id}</a>`.text).toBe(
      '<a title="x&quot;&gt;&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;&amp;">x&quot;&gt;&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt;&amp;</a>',
    );
  });

  it('inserts Html as is, once: nested templates are not escaped twice', () => {
    const inner = html`<b>${'a&b'}</b>`;
    expect(html`<p>${inner}</p>`.text).toBe('<p><b>a&amp;b</b></p>');
    expect(html`${raw('<hr>')}`.text).toBe('<hr>');
  });

  it('renders lists, numbers, dates as ISO, true as text, and nothing for null, undefined and false', () => {
    const items = ['<1>', html`<i>2</i>`, ['3', 4]];
    expect(html`${items}`.text).toBe('&lt;1&gt;<i>2</i>34');
    expect(html`${new Date('2026-01-02T03:04:05.000Z')}|${true}|${false}|${null}|${undefined}|${0}`.text).toBe(
      '2026-01-02T03:04:05.000Z|true||||0',
    );
  });
});
