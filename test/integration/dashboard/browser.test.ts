// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a running
// rotor: load the inventory, open a secret, start an emergency rotation through the page and watch
// the run page update live until the run is done; its target and the calendar; incidents, one of
// them overriding a freeze. Each page's screenshot goes to test-artifacts/ (inventory, secret, run,
// target, calendar, audit, queues, incident-start, incident, incident-freeze, incident-override).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackedSecrets } from '../../../src/redact.js';
import { secretFixture } from '../engine/fixtures.js';
import { freezeNow, startDashboardEnv, type DashboardEnv } from './setup.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts');
const TOKEN = 'browser-operator-token-0123456789';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let env: DashboardEnv;
let profile: string;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];
const seen: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });
  seen.push(await page.content());
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  await mkdir(ARTIFACTS, { recursive: true });
  env = await startDashboardEnv({ backend: 'redis', token: TOKEN });
  profile = await mkdtemp(join(tmpdir(), 'rotor-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${page.url()}: ${e.message}`));
});

afterAll(async () => {
  await context?.close();
  await env?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
});

describe('the dashboard in Chromium', () => {
  it('inventory → secret → emergency rotation through the page → the run completes, live', async () => {
    // The inventory opens on what needs me now: needs attention, overdue, rotating.
    await page.goto(env.server.url + '/');
    await expect.poll(() => page.locator('tr[data-secret]').count()).toBe(3);
    expect(await page.locator('tr[data-secret="search/es-password"] .badge').first().textContent()).toBe('overdue');
    expect(await page.locator('#chips a.chip.on').textContent()).toMatch(/needs me now\s*3/);
    // Live updates are connected (SSE).
    await page.waitForSelector('#live.on');
    await shot('inventory');

    // `/` focuses the filter; the summary strip links to every filter.
    await page.keyboard.press('/');
    expect(await page.locator('input[name=q]:focus').count()).toBe(1);
    await page.locator('#chips a.chip', { hasText: 'all' }).click();
    await expect.poll(() => page.locator('tr[data-secret]').count()).toBe(6);

    // Filter through the form: the filters land in the URL and a reload restores them.
    await page.selectOption('select[name=class]', 'critical');
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => page.locator('tr[data-secret]').count()).toBe(2);
    expect(new URL(page.url()).searchParams.get('class')).toBe('critical');
    await page.reload();
    expect(await page.locator('select[name=class]').inputValue()).toBe('critical');
    expect(await page.locator('select[name=status]').inputValue()).toBe('all');

    await page.click('a[href="/secrets/payments/db-app"]');
    await page.waitForSelector('#emergency');
    expect(await page.locator('.stage.st-CURRENT').count()).toBe(1);
    const button = page.locator('#emergency button[type=submit]');
    expect(await button.isDisabled()).toBe(true); // until the id is typed
    await page.fill('input[name=operator]', 'carol');
    await page.fill('input[name=token]', TOKEN);
    await page.fill('input[name=reason]', 'browser drill');
    await page.fill('input[name=confirm]', 'payments/db-app');
    expect(await button.isDisabled()).toBe(false);
    await shot('secret');

    await Promise.all([page.waitForNavigation(), button.click()]);
    // A refusal re-renders the secret page with the reason: show it rather than time out.
    const refusal = page.locator('#emergency .error');
    if (await refusal.count()) throw new Error(`the emergency form was refused: ${await refusal.textContent()}`);
    expect(page.url()).toMatch(/\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split('/').pop()!;
    // No reload: the run page swaps its live sections as the steps are recorded.
    await page.waitForSelector('[data-outcome]', { timeout: 20_000 });
    expect(await page.locator('[data-outcome]').textContent()).toBe('rotated');
    expect(await page.locator('tr[data-step="revoke"][data-status="succeeded"]').count()).toBe(1);
    expect(await page.locator('#run-summary').textContent()).toContain('dashboard:carol');
    // Grace is one row (its checks folded in); step details are labelled fields.
    expect(await page.locator('tr[data-step="grace"]').count()).toBe(1);
    expect(await page.locator('#timeline dl.fields').count()).toBeGreaterThan(0);
    await shot('run');

    // The secret's target: its secrets and runs, this run among them.
    await page.click('#run-summary a.target');
    await page.waitForSelector('#target-runs');
    expect(await page.locator(`#target-runs tr[data-run="${runId}"]`).count()).toBe(1);
    expect(await page.locator('#target-secrets tr[data-secret="payments/db-app"]').count()).toBe(1);
    await shot('target');

    // The calendar: the next 30 days by day and window; the overdue secret is due now, today.
    await page.goto(env.server.url + '/calendar');
    await expect.poll(() => page.locator('section.day').count()).toBeGreaterThan(1);
    expect(await page.locator('section.day').first().locator('tr[data-secret="search/es-password"] .badge').textContent()).toBe('due now');
    await shot('calendar');
    const run = (await env.db.pool.query('select state, trigger, actor, reason from runs where id = $1', [runId])).rows[0];
    expect(run).toEqual({ state: 'done', trigger: 'emergency', actor: 'dashboard:carol', reason: 'browser drill' });

    await page.goto(env.server.url + '/audit');
    await page.waitForSelector('#audit');
    expect(await page.locator('#audit').textContent()).toContain('dashboard:carol');
    await shot('audit');
    await page.goto(env.server.url + '/queues');
    await shot('queues');
    await page.goto(env.server.url + '/queues/board', { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('text=rotor-runs', { timeout: 15_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-bull-board.png'), fullPage: true });

    // No page loads an inline script or breaks a CSP rule, bull-board's included (its CSP allows
    // what it needs); the one thing refused there is its third-party Google Fonts stylesheet.
    expect(problems.filter((p) => !p.includes('fonts.googleapis.com'))).toEqual([]);
    const leaks = trackedSecrets().filter((v) => seen.some((html) => html.includes(v)));
    expect(leaks).toEqual([]);
  }, 120_000); // a dozen page loads and a rotation; about 15 s on an idle machine, far more on a loaded one

  it('incidents: started through the page by typing the number of secrets, then followed live until done', async () => {
    await page.goto(env.server.url + '/incidents');
    await page.waitForSelector('#incident-start');
    await page.fill('#incident-start input[name=operator]', 'dave');
    await page.fill('#incident-start input[name=token]', TOKEN);
    await page.fill('#incident-start input[name=reason]', 'browser incident drill');
    await page.fill('#incident-start input[name=tags]', 'ci');
    // Without the count: the page says how many secrets the selection has, and starts nothing.
    await Promise.all([page.waitForNavigation(), page.click('#incident-start button[type=submit]')]);
    expect(await page.locator('#incident-start .error').textContent()).toContain('the selection has 1 secrets');
    await page.fill('#incident-start input[name=token]', TOKEN);
    await page.fill('#incident-start input[name=confirm]', '1');
    await shot('incident-start');
    await Promise.all([page.waitForNavigation(), page.click('#incident-start button[type=submit]')]);
    const refusal = page.locator('#incident-start .error');
    if (await refusal.count()) throw new Error(`the incident form was refused: ${await refusal.textContent()}`);
    expect(page.url()).toMatch(/\/incidents\/[0-9a-f-]{36}$/);
    // No reload: the summary, the secrets and the audit rows are live sections.
    await page.waitForSelector('tr[data-secret="ops/deploy-key"][data-phase="done"]', { timeout: 20_000 });
    await expect.poll(() => page.locator('#incident-summary .badge').first().textContent(), { timeout: 10_000 }).toBe('done');
    expect(await page.locator('#incident-summary').textContent()).toContain('dashboard:dave');
    const audit = await page.locator('#incident-audit').textContent();
    expect(audit).toContain('incident.started');
    expect(audit).toContain('incident.ended');
    await shot('incident');
    // The submit without a count was answered 400 on purpose; nothing else may fail.
    const refusedOnPurpose = '/incidents: Failed to load resource: the server responded with a status of 400 (Bad Request)';
    expect(problems.filter((p) => !p.includes('fonts.googleapis.com') && !p.endsWith(refusedOnPurpose))).toEqual([]);
    expect(trackedSecrets().filter((v) => seen.some((html) => html.includes(v)))).toEqual([]);
  }, 60_000);

  it('incidents: a selection with a frozen secret offers to override the freeze; the incident says so and rotates it', async () => {
    await env.addSecrets([
      secretFixture('close/ledger', { tags: ['close'], freezes: [freezeNow('quarter-end close')] }),
      secretFixture('close/report', { tags: ['close'] }),
    ]);
    await page.goto(env.server.url + '/incidents');
    await page.waitForSelector('#incident-start');
    const box = page.locator('#incident-start input[name=overrideFreeze]');
    expect(await box.count()).toBe(0); // offered only once the plan has frozen secrets
    await page.fill('#incident-start input[name=operator]', 'frank');
    await page.fill('#incident-start input[name=token]', TOKEN);
    await page.fill('#incident-start input[name=reason]', 'quarter-end drill');
    await page.fill('#incident-start input[name=tags]', 'close');
    await Promise.all([page.waitForNavigation(), page.click('#incident-start button[type=submit]')]);
    expect(await page.locator('#incident-frozen').textContent()).toContain('1 of the 2 selected secrets is inside a freeze window now');
    expect(await box.isChecked()).toBe(false);
    await page.fill('#incident-start input[name=token]', TOKEN);
    await page.fill('#incident-start input[name=confirm]', '2');
    await box.check();
    await shot('incident-freeze');
    await Promise.all([page.waitForNavigation(), page.click('#incident-start button[type=submit]')]);
    const refusal = page.locator('#incident-start .error');
    if (await refusal.count()) throw new Error(`the incident form was refused: ${await refusal.textContent()}`);
    expect(page.url()).toMatch(/\/incidents\/[0-9a-f-]{36}$/);
    expect(await page.locator('#incident-summary [data-override-freeze]').textContent()).toContain('overrides freezes');
    // The frozen secret rotates too, its run audited as overriding the freeze.
    await page.waitForSelector('tr[data-secret="close/ledger"][data-phase="done"]', { timeout: 20_000 });
    await expect.poll(() => page.locator('#incident-summary .badge').first().textContent(), { timeout: 10_000 }).toBe('done');
    await expect.poll(() => page.locator('#incident-audit').textContent()).toContain('run.freeze-overridden');
    await shot('incident-override');
    const refusedOnPurpose = '/incidents: Failed to load resource: the server responded with a status of 400 (Bad Request)';
    expect(problems.filter((p) => !p.includes('fonts.googleapis.com') && !p.endsWith(refusedOnPurpose))).toEqual([]);
    expect(trackedSecrets().filter((v) => seen.some((html) => html.includes(v)))).toEqual([]);
  }, 60_000);
});
