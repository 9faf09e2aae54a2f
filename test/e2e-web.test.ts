/**
 * The web page at /app, driven end to end in Debian's Chromium through
 * playwright-core against the real service and database: sign in, create a
 * user, generate keys, read the secret off the page and prove with a real
 * JSON-RPC call that it works, rotate, revoke; a key's expiry, scopes, IP
 * allowlist, rate limits, credits and grace period, each proven against the
 * service with the token itself. Every
 * test saves a screenshot to test-artifacts/screenshots/; readme-web-page.png
 * there is the README's picture.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startService, tokenOf, sleep, expectError, expectResult, ISSUED_SECRETS, type TestService } from './harness.js';
import { WEB_CSP } from '../src/http/web.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join('test-artifacts', 'screenshots');
// The README's picture (docs/web-page.png) is a copy of this one, made by hand so a test run leaves the tree clean.
const DOC_SHOT = path.join(SHOTS, 'readme-web-page.png');
const BAD_TOKEN = 'That api_key and api_secret do not match an enabled user.';
const GENERATE = 'frappe.core.doctype.user.user.generate_keys';
/**
 * The browser's time zone: away from UTC, with no daylight saving, so a
 * local time typed into the page has one known UTC answer (05:30 ahead).
 */
const TIME_ZONE = 'Asia/Kolkata';
/** A year safely ahead, so the expiries typed in these tests are always in the future. */
const LATER = new Date().getUTCFullYear() + 5;

/** This machine has no internet: these flags stop Chromium's own background connections. */
async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. The web page tests need it: install it with ` +
        '"apt-get install -y chromium" (Debian), or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);
}

function split(token: string): [string, string] {
  const at = token.indexOf(':');
  return [token.slice(0, at), token.slice(at + 1)];
}

describe('web page in Chromium (/app)', function () {
  this.timeout(90_000);
  let svc: TestService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every URL the page asked for, and every console line and CSP violation it caused. */
  let requests: string[];
  let consoleLines: string[];

  before(async function () {
    browser = await launch();
    svc = await startService();
    const probe = await fetch(`${svc.url}/app`);
    if (probe.status !== 200) {
      throw new Error(`GET /app answered ${probe.status}: src/http/server.ts must route /app and /app/... to serveWebApp (src/http/web.ts)`);
    }
  });

  after(async () => {
    // Unset when before() failed, whatever the declarations say.
    await (browser as Browser | undefined)?.close();
    await (svc as TestService | undefined)?.close();
  });

  async function openPage(viewport = { width: 1100, height: 820 }): Promise<Page> {
    // en-US: counts such as 10,000 are shown in the reader's locale.
    context = await browser.newContext({ viewport, timezoneId: TIME_ZONE, locale: 'en-US', permissions: ['clipboard-read', 'clipboard-write'] });
    page = await context.newPage();
    requests = [];
    consoleLines = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => consoleLines.push(m.text()));
    // Recorded by the browser itself, whatever CSP would block.
    await page.addInitScript(
      "window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));",
    );
    return page;
  }

  beforeEach(async () => {
    await openPage();
  });

  afterEach(async function () {
    // Unset when no page could be opened, whatever the declarations say.
    if ((page as Page | undefined) && !page.isClosed()) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `${slug(this.currentTest?.title ?? 'test')}.png`), fullPage: true }).catch(() => {});
    }
    await (context as BrowserContext | undefined)?.close();
  });

  /** No request left the service's origin, and nothing broke the CSP. */
  async function expectOnlySameOrigin(): Promise<void> {
    const origin = new URL(svc.url).origin;
    const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    expect(foreign, 'requests outside the service').to.deep.equal([]);
    expect(await inPage<string[]>('window.cspViolations')).to.deep.equal([]);
    expect(consoleLines.filter((l) => /Content Security Policy/i.test(l))).to.deep.equal([]);
  }

  /** Evaluates an expression in the page (a string: this project's types have no DOM). */
  function inPage<T = unknown>(expression: string): Promise<T> {
    return page.evaluate<T>(expression);
  }

  async function signIn(token: string, url = svc.url): Promise<void> {
    const [key, secret] = split(token);
    await page.goto(`${url}/app`);
    await page.getByLabel('api_key', { exact: true }).fill(key);
    await page.getByLabel('api_secret', { exact: true }).fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Signs in with the service's Administrator token and waits for the list of users. */
  async function signInAsAdmin(service = svc): Promise<void> {
    await signIn(service.adminToken, service.url);
    await expectHeading('Users');
  }

  async function heading(): Promise<string> {
    return (await page.locator('main h1').textContent()) ?? '';
  }

  async function expectHeading(text: string): Promise<void> {
    await page.locator('main h1', { hasText: text }).waitFor();
    expect(await heading()).to.equal(text);
  }

  async function focusedText(): Promise<string> {
    return inPage<string>("document.activeElement?.textContent ?? ''");
  }

  /** Signed in already: opens a user's page and waits for its API Access. */
  async function openUser(name: string) {
    await inPage(`location.hash = ${JSON.stringify(`#/user/${encodeURIComponent(name)}`)}`);
    await expectHeading(name);
    const access = page.getByRole('region', { name: 'API Access' });
    await access.locator('#api-key').waitFor();
    return access;
  }

  /** The key's metadata as the service has it. */
  async function keyInfo(user: string, service = svc): Promise<any> {
    return expectResult(await service.call('auth.keys.get', { user }));
  }

  /** Where a datetime-local value typed in TIME_ZONE lands in UTC. */
  function fromKolkata(local: string): string {
    return new Date(Date.parse(`${local}:00.000+05:30`)).toISOString();
  }

  interface Shown {
    key: string;
    secret: string;
    /** api_key:api_secret, to prove against the service. */
    token: string;
    /** The dialog's words, and the times it showed (ISO, from <time datetime>). */
    text: string;
    expires: string | null;
    scopes: string[];
    ipAllowlist: string[];
    /** The rate limits and credits in the dialog's words. */
    ratelimits: string;
    credits: string;
    graceEnd: string | null;
  }

  /** Reads the secret dialog, remembers the secret for the log audit, closes it, checks it is gone. */
  async function takeSecret(): Promise<Shown> {
    const dialog = page.getByRole('dialog', { name: /New API secret for/ });
    await dialog.waitFor();
    const key = (await dialog.locator('#new-key').textContent()) ?? '';
    const secret = (await dialog.locator('#new-secret').textContent()) ?? '';
    ISSUED_SECRETS.add(secret);
    expect(key).to.match(/^tak_[0-9A-Za-z]{20}$/);
    expect(secret).to.match(/^tas_[0-9A-Za-z]{30}$/);
    const text = ((await dialog.textContent()) ?? '').replace(secret, '<secret>');
    expect(text).to.include('This secret will not be shown again.');
    const expires = (await dialog.locator('#new-expires time').count()) ? await dialog.locator('#new-expires time').getAttribute('datetime') : null;
    const scopes = await dialog.locator('#new-scopes code').allTextContents();
    const ipAllowlist = await dialog.locator('#new-ip-allowlist code').allTextContents();
    const ratelimits = (await dialog.locator('#new-ratelimits').textContent()) ?? '';
    const credits = (await dialog.locator('#new-credits').textContent()) ?? '';
    const graceEnd = (await dialog.locator('#secret-grace').count()) ? await dialog.locator('#secret-grace time').getAttribute('datetime') : null;

    // Copy: the clipboard holds the secret, and the dialog says so.
    expect(await focusedText()).to.equal('Copy secret');
    await dialog.getByRole('button', { name: 'Copy secret' }).click();
    await dialog.getByText('Copied to the clipboard.').waitFor();
    expect(await inPage<string>('navigator.clipboard.readText()')).to.equal(secret);
    await inPage("navigator.clipboard.writeText('')");

    // Escape does not throw it away by accident, even pressed again and again
    // (Chromium closes a dialog on repeated Escapes unless keydown stops them).
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Escape');
      expect(await dialog.isVisible(), `after Escape ${i + 1}`).to.equal(true);
    }
    await dialog.getByRole('button', { name: 'I have copied it, close' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });

    // Gone from the page and from every storage the page could use.
    const html = await page.content();
    expect(html.includes(secret), html.slice(Math.max(0, html.indexOf(secret) - 300), html.indexOf(secret) + 100)).to.equal(false);
    const stored = await inPage<string>('JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + document.cookie');
    expect(stored).not.to.include(secret);
    expect(consoleLines.join('\n')).not.to.include(secret);
    return { key, secret, token: `${key}:${secret}`, text, expires, scopes, ipAllowlist, ratelimits, credits, graceEnd };
  }

  /** The error shown next to a field (by its label, or the input itself), in plain words; the field is marked and describes it first. */
  async function expectFieldError(scope: Locator, label: string | Locator, words: string): Promise<void> {
    const control = typeof label === 'string' ? scope.getByLabel(label, { exact: true }) : label;
    const error = scope.locator('.field-error', { hasText: words });
    await error.waitFor();
    expect(await control.getAttribute('aria-invalid')).to.equal('true');
    const errorId = await error.getAttribute('id');
    expect((await control.getAttribute('aria-describedby'))?.split(' ')[0]).to.equal(errorId);
  }

  /** An error about a group of inputs as a whole (Rate limits, Credits): under its legend, read first, focus inside it. */
  async function expectGroupError(scope: Locator, legend: string, words: string): Promise<void> {
    const group = scope.getByRole('group', { name: legend, exact: true });
    const error = group.locator('.field-error', { hasText: words });
    await error.waitFor();
    expect((await group.getAttribute('aria-describedby'))?.split(' ')[0]).to.equal(await error.getAttribute('id'));
    expect(await group.evaluate((el) => el.contains(el.ownerDocument.activeElement))).to.equal(true);
  }

  /** Rate limit `n` (from 1) of a Rate limits group: fills its name, calls and window. */
  async function fillLimit(scope: Locator, n: number, name: string, calls: string, window: string, unit: string): Promise<void> {
    const row = scope.getByRole('group', { name: `Rate limit ${n}`, exact: true });
    await row.getByLabel('Name', { exact: true }).fill(name);
    await row.getByLabel('Calls', { exact: true }).fill(calls);
    await row.getByLabel('Window', { exact: true }).fill(window);
    await row.getByLabel('Window unit', { exact: true }).selectOption({ label: unit });
  }

  /** What a Rate limits group's rows hold: [name, calls, window, unit]. */
  async function limitRows(scope: Locator): Promise<string[][]> {
    const rows = scope.getByRole('group', { name: 'Rate limits', exact: true }).locator('fieldset.limit');
    const out = [];
    for (const row of await rows.all()) {
      const unit = row.getByLabel('Window unit', { exact: true });
      out.push([
        await row.getByLabel('Name', { exact: true }).inputValue(),
        await row.getByLabel('Calls', { exact: true }).inputValue(),
        await row.getByLabel('Window', { exact: true }).inputValue(),
        (await unit.locator('option:checked').textContent()) ?? '',
      ]);
    }
    return out;
  }

  it('signs in, creates a user, generates, rotates and revokes its keys', async () => {
    const name = 'jane.web@example.com';
    await signInAsAdmin();
    expect(await page.locator('#who').textContent()).to.equal('Administrator');
    expect(await focusedText()).to.equal('Users');
    // The token lives in sessionStorage only.
    expect(await inPage("sessionStorage.getItem('tokenauth.token')")).to.equal(svc.adminToken);
    expect(await inPage('localStorage.length')).to.equal(0);

    // Create a user.
    await page.getByRole('link', { name: 'New user' }).click();
    await expectHeading('New user');
    await page.getByLabel('Name (required)').fill(name);
    await page.getByLabel('Full name').fill('Jane Web');
    await page.getByLabel('Token Verifier').check();
    await page.getByRole('button', { name: 'Create user' }).click();
    await expectHeading(name);
    await page.locator('#status', { hasText: `User ${name} created.` }).waitFor();
    const created = expectResult(await svc.call('user.get', { name }));
    expect(created).to.include({ full_name: 'Jane Web', enabled: true });
    expect(created.roles).to.deep.equal(['Token Verifier']);
    const access = page.getByRole('region', { name: 'API Access' });
    await access.getByText('none yet').waitFor();

    // First keys: no key yet, so no confirmation.
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const first = await takeSecret();
    await access.locator('#api-key', { hasText: first.key }).waitFor();
    expect(await focusedText()).to.equal('Generate Keys');
    const me = expectResult(await svc.call('auth.verify', {}, first.token));
    expect(me).to.include({ valid: true, user: name, api_key: first.key });

    // Rotate: the dialog explains and asks; Cancel (focused first) changes nothing.
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const confirm = page.getByRole('dialog', { name: 'Generate a new secret?' });
    await confirm.waitFor();
    expect(await confirm.textContent()).to.include(`${name} already has the api_key ${first.key}. It stays the same.`);
    expect(await confirm.textContent()).to.include('A new api_secret replaces the current one at once');
    expect(await focusedText()).to.equal('Cancel');
    fs.mkdirSync(path.dirname(DOC_SHOT), { recursive: true });
    await inPage('window.scrollTo(0, 0)');
    await page.screenshot({ path: DOC_SHOT });
    await page.keyboard.press('Escape');
    await page.locator('dialog').waitFor({ state: 'detached' });
    expect(await focusedText()).to.equal('Generate Keys');
    expectResult(await svc.call('auth.verify', {}, first.token));

    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await confirm.getByRole('button', { name: 'Generate new secret' }).click();
    const second = await takeSecret();
    expect(second.key).to.equal(first.key);
    expect(second.secret).not.to.equal(first.secret);
    expectError(await svc.call('auth.verify', {}, first.token), -32001, 401);
    expect(expectResult(await svc.call('auth.verify', {}, second.token)).user).to.equal(name);

    // Revoke, after a confirmation.
    await access.getByRole('button', { name: 'Revoke keys' }).click();
    const revoke = page.getByRole('dialog', { name: `Revoke the keys of ${name}?` });
    await revoke.waitFor();
    expect(await revoke.textContent()).to.include(`The api_key ${first.key} and its secret stop working at once`);
    await revoke.getByRole('button', { name: 'Revoke keys' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });
    await page.locator('#status', { hasText: `The keys of ${name} are revoked.` }).waitFor();
    await access.getByText('none yet').waitFor();
    expectError(await svc.call('auth.verify', {}, second.token), -32001, 401);

    // Generate Keys after a revoke: a new api_key, no confirmation needed.
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const third = await takeSecret();
    expect(third.key).not.to.equal(first.key);
    expect(expectResult(await svc.call('auth.verify', {}, third.token)).user).to.equal(name);

    await expectOnlySameOrigin();

    // Sign out forgets the token.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expectHeading('Sign in');
    expect(await inPage('sessionStorage.length')).to.equal(0);
  });

  it('tells a wrong token plainly', async () => {
    await signIn(`tak_${'x'.repeat(20)}:tas_${'y'.repeat(30)}`);
    await page.getByRole('alert').filter({ hasText: BAD_TOKEN }).waitFor();
    expect(await heading()).to.equal('Sign in');
    expect(await inPage('sessionStorage.length')).to.equal(0);
    // The secret field is emptied; focus waits there for another try.
    expect(await page.getByLabel('api_secret', { exact: true }).inputValue()).to.equal('');
    expect(await inPage('document.activeElement?.id')).to.equal('sign-secret');
    await expectOnlySameOrigin();
  });

  it('tells a rate-limited address to wait', async () => {
    const limited = await startService({ authFailureLimit: 1 });
    try {
      const wrong = `tak_${'x'.repeat(20)}:tas_${'y'.repeat(30)}`;
      expectError(await limited.call('auth.verify', {}, wrong), -32001, 401);
      await signIn(wrong, limited.url);
      const alert = page.getByRole('alert').filter({ hasText: 'Too many failed sign-in attempts' });
      await alert.waitFor();
      expect(await alert.textContent()).to.match(/Wait \d+ seconds? and try again\./);
    } finally {
      await limited.close();
    }
  });

  it('tells a key out of credits, or over its own rate limit, as such (not as failed sign-ins)', async () => {
    const spent = 'spent.manager';
    await svc.asAdmin('user.create', { name: spent, roles: ['System Manager'] });
    await signIn(tokenOf(await svc.asAdmin(GENERATE, { user: spent, credits: { remaining: 0 } })));
    await page.getByRole('alert').filter({ hasText: 'Your key is out of credits. It has no refill: a System Manager can give it more.' }).waitFor();
    expect(await heading()).to.equal('Sign in');

    // One call an hour: signing in (auth.verify) takes it, and the list of users is refused.
    const hourly = 'hourly.manager';
    await svc.asAdmin('user.create', { name: hourly, roles: ['System Manager'] });
    await signIn(tokenOf(await svc.asAdmin(GENERATE, { user: hourly, ratelimits: [{ name: 'hourly', limit: 1, duration_ms: 3_600_000 }] })));
    const alert = page.getByRole('alert').filter({ hasText: 'Your key is over its rate limit hourly (1 call a window).' });
    await alert.waitFor();
    expect(await alert.textContent()).to.match(/Wait \d+ seconds? and try again\.$/);
    await expectOnlySameOrigin();
  });

  it('refuses a token whose user is not a System Manager', async () => {
    const token = await svc.userWithToken('verifier.only', ['Token Verifier']);
    await signIn(token);
    await page
      .getByRole('alert')
      .filter({ hasText: 'This key belongs to verifier.only, who is not a System Manager. Only System Managers can use this page.' })
      .waitFor();
    expect(await heading()).to.equal('Sign in');
    expect(await inPage('sessionStorage.length')).to.equal(0);
    expect(await page.locator('#nav').isHidden()).to.equal(true);
    await expectOnlySameOrigin();
  });

  it('serves the page with a strict CSP and only from its allow-list', async () => {
    const response = await page.goto(`${svc.url}/app`);
    const headers = response!.headers();
    expect(headers['content-security-policy']).to.equal(WEB_CSP);
    expect(WEB_CSP).to.include("default-src 'none'").and.include("script-src 'self'").and.include("frame-ancestors 'none'");
    expect(headers).to.include({
      'content-type': 'text/html; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
    // No inline script or style anywhere in the page.
    const html = await (await fetch(`${svc.url}/app`)).text();
    expect(html).not.to.match(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.to.match(/<style|\sstyle=|\son[a-z]+=/i);

    for (const [asset, type] of [
      ['app.js', 'text/javascript'],
      ['app.css', 'text/css'],
      ['favicon.svg', 'image/svg+xml'],
    ] as const) {
      const res = await fetch(`${svc.url}/app/${asset}`);
      expect(res.status, asset).to.equal(200);
      expect(res.headers.get('content-type'), asset).to.satisfy((t: string) => t.startsWith(type));
      expect(res.headers.get('content-security-policy')).to.equal(WEB_CSP);
      const etag = res.headers.get('etag');
      expect(etag).to.match(/^"/);
      expect((await fetch(`${svc.url}/app/${asset}`, { headers: { 'If-None-Match': etag! } })).status).to.equal(304);
    }
    for (const probe of ['/app/../package.json', '/app/%2e%2e/package.json', '/app/..%2fpackage.json', '/app/nope.js', '/app//etc/passwd', '/app/web.ts']) {
      const res = await fetch(`${svc.url}${probe}`);
      expect(res.status, probe).to.equal(404);
    }
    expect((await fetch(`${svc.url}/app`, { method: 'POST' })).status).to.equal(405);

    // Browse the whole page: nothing leaves the origin, nothing trips the CSP.
    await signInAsAdmin();
    await page.getByRole('link', { name: 'Administrator' }).click();
    await expectHeading('Administrator');
    await page.getByRole('region', { name: 'API Access' }).locator('#api-key').waitFor();
    expect(requests.length).to.be.greaterThan(4);
    await expectOnlySameOrigin();
  });

  it('searches and pages through the users', async () => {
    for (let i = 0; i < 25; i++) await svc.asAdmin('user.create', { name: `page-user-${String(i).padStart(2, '0')}` });
    await signInAsAdmin();
    const caption = page.locator('table.users caption');
    await caption.filter({ hasText: 'Users, 1–20' }).waitFor();
    expect(await page.locator('table.users tbody tr').count()).to.equal(20);
    await page.getByRole('button', { name: 'Next page' }).click();
    await caption.filter({ hasText: /Users, 21–\d+/ }).waitFor();
    await page.getByRole('button', { name: 'Previous page' }).click();
    await caption.filter({ hasText: 'Users, 1–20' }).waitFor();

    await page.getByLabel('Search by name').fill('page-user-1');
    await page.keyboard.press('Enter');
    await caption.filter({ hasText: 'Users matching “page-user-1”, 1–10 (last page)' }).waitFor();
    const names = await page.locator('table.users tbody th').allTextContents();
    expect(names).to.deep.equal(Array.from({ length: 10 }, (_, i) => `page-user-1${i}`));
    expect(page.url()).to.match(/#\/users\?q=page-user-1$/);

    await page.getByLabel('Search by name').fill('nobody-has-this-name');
    await page.keyboard.press('Enter');
    await caption.filter({ hasText: 'No user matches “nobody-has-this-name”.' }).waitFor();
    await expectOnlySameOrigin();
  });

  it('generates keys with an expiry and scopes, and the token keeps to them', async () => {
    const name = 'scoped.web';
    // A System Manager, so a refusal below can only come from the token's scopes.
    await svc.asAdmin('user.create', { name, roles: ['System Manager'] });
    await signInAsAdmin();
    const access = await openUser(name);
    await access.getByText('none yet').waitFor();
    // No key yet: no old secret to keep working, and an empty expiry already means never.
    expect(await access.getByLabel('Keep the old secret working for').count()).to.equal(0);
    expect(await access.getByLabel('Never expires').count()).to.equal(0);

    const local = `${LATER}-03-04T05:06`;
    const expiresAt = fromKolkata(local);
    expect(expiresAt).to.equal(`${LATER}-03-03T23:36:00.000Z`);
    await access.getByLabel('Expires', { exact: true }).fill(local);
    // Commas and lines both separate; a repeat is dropped.
    await access.getByLabel('Scopes', { exact: true }).fill('user.*, auth.verify\nuser.*');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const shown = await takeSecret();
    expect(shown.expires).to.equal(expiresAt);
    expect(shown.scopes).to.deep.equal(['user.*', 'auth.verify']);
    expect(shown.graceEnd).to.equal(null);

    // The page shows what the service keeps.
    await access.locator('#api-key', { hasText: shown.key }).waitFor();
    await access.locator(`time[datetime="${expiresAt}"]`).waitFor();
    expect(await access.locator('dd code.scope').allTextContents()).to.deep.equal(['user.*', 'auth.verify']);
    expect(await access.locator('#old-secret-until').count()).to.equal(0);

    // The token itself: auth.verify reports the expiry and scopes, a method in
    // them works, and one outside them is refused although the roles allow it.
    const me = expectResult(await svc.call('auth.verify', {}, shown.token));
    expect(me).to.include({ valid: true, user: name, api_key: shown.key, expires_at: expiresAt });
    expect(me.scopes).to.deep.equal(['user.*', 'auth.verify']);
    expect(expectResult(await svc.call('user.get', { name }, shown.token)).name).to.equal(name);
    const refused = expectError(await svc.call('auth.keys.list', {}, shown.token), -32003);
    expect(refused.message).to.include('scopes');
    expectResult(await svc.call('auth.keys.list', {})); // the administrator's unscoped token may
    await expectOnlySameOrigin();
  });

  it('rotates with a grace period: the old and the new secret both work until the time the page shows', async () => {
    const name = 'grace.web';
    const old = await svc.userWithToken(name, ['Token Verifier']);
    await signInAsAdmin();
    const access = await openUser(name);

    await access.getByLabel('Keep the old secret working for').selectOption({ label: '1 hour' });
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const confirm = page.getByRole('dialog', { name: 'Generate a new secret?' });
    await confirm.waitFor();
    const asked = (await confirm.textContent()) ?? '';
    expect(asked).to.include('The current secret keeps working for 1 hour, so programs can switch to the new one without downtime');
    expect(asked).to.include('The key still never expires.').and.include('The scopes stay: any method the user’s roles allow.');
    const from = Date.now();
    await confirm.getByRole('button', { name: 'Generate new secret' }).click();
    const shown = await takeSecret();
    const to = Date.now();
    expect(shown.key).to.equal(split(old)[0]);
    expect(shown.text).to.include('The old secret keeps working until');
    const graceEnd = Date.parse(shown.graceEnd ?? '');
    expect(graceEnd).to.be.within(from + 3_600_000 - 2_000, to + 3_600_000 + 2_000);

    // Both secrets authenticate.
    expect(expectResult(await svc.call('auth.verify', {}, old))).to.include({ valid: true, user: name });
    expect(expectResult(await svc.call('auth.verify', {}, shown.token))).to.include({ valid: true, user: name });

    // API Access shows when the old one stops, as the service keeps it.
    const info = await keyInfo(name);
    expect(info.previous_valid_until).to.equal(shown.graceEnd);
    const until = access.locator('#old-secret-until');
    await until.locator(`time[datetime="${info.previous_valid_until}"]`).waitFor();
    expect(
      await access
        .locator('.details > div', { has: page.locator('#old-secret-until') })
        .locator('dt')
        .textContent(),
    ).to.equal('Old secret works until');
    await page.locator('#status', { hasText: 'The old secret works until' }).waitFor();
    await expectOnlySameOrigin();
  });

  it('edits the expiry and scopes, and the same secret follows them at once', async () => {
    const name = 'edit.web';
    await svc.asAdmin('user.create', { name, roles: ['System Manager'] });
    const issued = await svc.asAdmin(GENERATE, { user: name, scopes: ['auth.verify'] });
    const token = tokenOf(issued);
    expectError(await svc.call('auth.keys.list', {}, token), -32003);

    await signInAsAdmin();
    const access = await openUser(name);
    expect(await access.locator('dd code.scope').allTextContents()).to.deep.equal(['auth.verify']);
    await access.getByRole('button', { name: 'Edit key' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${name}’s key` });
    await dialog.waitFor();
    expect(await dialog.textContent()).to.include(`The api_key ${issued.api_key} and its secret stay the same`);
    // It starts from the key as it is, focus on the first field.
    expect(await dialog.getByLabel('Never expires').isChecked()).to.equal(true);
    expect(await dialog.getByLabel('Expires', { exact: true }).isDisabled()).to.equal(true);
    expect(await dialog.getByLabel('Scopes', { exact: true }).inputValue()).to.equal('auth.verify');
    expect(await inPage('document.activeElement?.name')).to.equal('never');

    const local = `${LATER}-12-31T23:59`;
    await dialog.getByLabel('Never expires').uncheck();
    await dialog.getByLabel('Expires', { exact: true }).fill(local);
    await dialog.getByLabel('Scopes', { exact: true }).fill('');
    await page.screenshot({ path: path.join(SHOTS, 'edit-expiry-and-scopes-dialog.png') });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });
    await page.locator('#status', { hasText: `Saved ${name}’s key. Its secret did not change.` }).waitFor();
    const expiresAt = fromKolkata(local);
    await access.locator(`time[datetime="${expiresAt}"]`).waitFor();
    expect(await access.locator('dd', { hasText: 'any method the user’s roles allow' }).count()).to.equal(1);
    expect(await focusedText()).to.equal('Edit key');

    // The same secret, no scopes now: the method refused before is answered.
    expect(expectResult(await svc.call('auth.keys.list', { user: name }, token))).to.have.length(1);
    const me = expectResult(await svc.call('auth.verify', {}, token));
    expect(me).to.include({ api_key: issued.api_key, expires_at: expiresAt });
    expect(me.scopes).to.deep.equal([]);
    await expectOnlySameOrigin();
  });

  it('binds a key to an IP allowlist on Generate Keys and Edit; the token follows it; a bad entry is told by the field', async () => {
    const name = 'ip.web';
    await svc.asAdmin('user.create', { name, roles: ['Token Verifier'] });
    await signInAsAdmin();
    const access = await openUser(name);
    await access.getByText('none yet').waitFor();
    const list = access.getByLabel('IP allowlist', { exact: true });

    // What is no address at all is told before anything is sent; a range the service refuses, in its words, by the field.
    await list.fill('localhost');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectFieldError(access, 'IP allowlist', '“localhost”: write an address (203.0.113.7, 2001:db8::1) or a CIDR range');
    await list.fill('10.1.2.3/8');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectFieldError(access, 'IP allowlist', '“10.1.2.3/8” has bits set past its /8: the range is 10.0.0.0/8.');
    expect(await inPage('document.activeElement?.name')).to.equal('ip_allowlist');
    expectError(await svc.call('auth.keys.get', { user: name }), -32004); // nothing was made

    // The page's own address (127.0.0.1), written as a mapped IPv6 address: kept as IPv4.
    await list.fill('::ffff:127.0.0.1, 2001:db8::/32');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const shown = await takeSecret();
    expect(shown.ipAllowlist).to.deep.equal(['127.0.0.1', '2001:db8::/32']);
    await access.locator('#ip-allowlist code.range', { hasText: '2001:db8::/32' }).waitFor();
    expect(await access.locator('#ip-allowlist code.range').allTextContents()).to.deep.equal(['127.0.0.1', '2001:db8::/32']);
    expect(expectResult(await svc.call('auth.verify', {}, shown.token)).ip_allowlist).to.deep.equal(['127.0.0.1', '2001:db8::/32']);

    // Edit: it starts from the list as it is; leaving out 127.0.0.1 shuts the token out from here at once.
    await access.getByRole('button', { name: 'Edit key' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${name}’s key` });
    await dialog.waitFor();
    expect(await dialog.getByLabel('IP allowlist', { exact: true }).inputValue()).to.equal('127.0.0.1\n2001:db8::/32');
    await dialog.getByLabel('IP allowlist', { exact: true }).fill('2001:db8::/32');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });
    await page.locator('#status', { hasText: `Saved ${name}’s key. Its secret did not change.` }).waitFor();
    await access.locator('#ip-allowlist', { hasText: /^2001:db8::\/32$/ }).waitFor();
    const refused = expectError(await svc.call('auth.verify', {}, shown.token), -32003, 403);
    expect(refused.message).to.equal('This key may not be used from 127.0.0.1: the address is outside its ip_allowlist');
    expect((await keyInfo(name)).ip_allowlist).to.deep.equal(['2001:db8::/32']);
    await expectOnlySameOrigin();
  });

  it('sets rate limits and credits on Generate Keys and Edit key; the token keeps to them; an edit that leaves the credits alone does not send them', async () => {
    const name = 'limits.web';
    await svc.asAdmin('user.create', { name, roles: ['Token Verifier'] });
    await signInAsAdmin();
    const access = await openUser(name);
    await access.getByText('none yet').waitFor();
    const limits = access.getByRole('group', { name: 'Rate limits', exact: true });
    const credits = access.getByRole('group', { name: 'Credits', exact: true });
    // No limit yet: the list starts empty, the refill's own inputs show only once a refill is chosen.
    expect(await limits.locator('fieldset.limit').count()).to.equal(0);
    expect(await credits.getByLabel('Refill to', { exact: true }).isVisible()).to.equal(false);

    await limits.getByRole('button', { name: 'Add a rate limit' }).click();
    expect(await inPage('document.activeElement?.name')).to.equal('limit_name');
    await fillLimit(limits, 1, 'burst', '100', '1', 'seconds');
    await limits.getByRole('button', { name: 'Add a rate limit' }).click();
    await fillLimit(limits, 2, 'burst', '50,000', '1', 'days');
    await credits.getByLabel('Credits left', { exact: true }).fill('10 000');
    await credits.getByLabel('Refill', { exact: true }).selectOption({ label: 'Every day, at 00:00 UTC' });
    expect(await credits.getByLabel('Refill period', { exact: true }).isVisible()).to.equal(false);

    // Told before anything is sent, by the input it is about: a name used twice, a refill without its amount.
    const second = limits.getByRole('group', { name: 'Rate limit 2', exact: true });
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectFieldError(limits, second.getByLabel('Name', { exact: true }), 'Rate limit 2: rate limit 1 is named burst too; each needs its own name.');
    expect(await inPage('document.activeElement?.name')).to.equal('limit_name');
    await second.getByLabel('Name', { exact: true }).fill('daily');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectFieldError(credits, 'Refill to', 'Write the balance each refill sets.');
    expect(await limits.locator('.field-error:visible').count(), 'the name error is gone').to.equal(0);
    expectError(await svc.call('auth.keys.get', { user: name }), -32004); // nothing was made

    await credits.getByLabel('Refill to', { exact: true }).fill('10000');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const shown = await takeSecret();
    expect(shown.ratelimits).to.equal('burst: 100 calls per second; daily: 50,000 calls per day');
    expect(shown.credits).to.equal('10,000 left, refilled to 10,000 every day at 00:00 UTC');
    const ratelimits = [
      { name: 'burst', limit: 100, duration_ms: 1000 },
      { name: 'daily', limit: 50_000, duration_ms: 86_400_000 },
    ];
    const stored = await keyInfo(name);
    expect(stored.ratelimits).to.deep.equal(ratelimits);
    expect(stored.credits).to.deep.equal({ remaining: 10_000, refill: { amount: 10_000, interval: 'daily' } });
    // The key's details say the same.
    await access.locator('#api-key', { hasText: shown.key }).waitFor();
    expect(await access.locator('#ratelimits li').allTextContents()).to.deep.equal(['burst: 100 calls per second', 'daily: 50,000 calls per day']);
    expect(await access.locator('#credits').textContent()).to.equal('10,000 left, refilled to 10,000 every day at 00:00 UTC');

    // The token itself spends and counts.
    const me = expectResult(await svc.call('auth.verify', {}, shown.token));
    expect(me.credits).to.equal(9_999);
    expect(me.ratelimits.map((r: any) => [r.name, r.limit, r.remaining])).to.deep.equal([
      ['burst', 100, 99],
      ['daily', 50_000, 49_999],
    ]);

    // Edit key starts from the key as the page read it.
    const balance = ((await access.locator('#credits').textContent()) ?? '').replace(/ left.*$/, '').replaceAll(',', '');
    await access.getByRole('button', { name: 'Edit key' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${name}’s key` });
    await dialog.waitFor();
    expect(await limitRows(dialog)).to.deep.equal([
      ['burst', '100', '1', 'seconds'],
      ['daily', '50000', '1', 'days'],
    ]);
    const dialogCredits = dialog.getByRole('group', { name: 'Credits', exact: true });
    expect(await dialogCredits.getByLabel('Credits left', { exact: true }).inputValue()).to.equal(balance);
    expect(await dialogCredits.getByLabel('Refill', { exact: true }).inputValue()).to.equal('daily');
    expect(await dialogCredits.getByLabel('Refill to', { exact: true }).inputValue()).to.equal('10000');

    // While the dialog is open the balance moves on (another operator sets it). Saving only a new expiry
    // must leave it as it is now: credits are a balance, and sending them back would set it to what the page read.
    expectResult(await svc.call('auth.keys.update', { user: name, credits: { remaining: 777, refill: { amount: 10_000, interval: 'daily' } } }));
    const local = `${LATER}-06-30T12:00`;
    await dialog.getByLabel('Never expires').uncheck();
    await dialog.getByLabel('Expires', { exact: true }).fill(local);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });
    await page.locator('#status', { hasText: `Saved ${name}’s key. Its secret did not change.` }).waitFor();
    const edited = await keyInfo(name);
    expect(edited.expires_at).to.equal(fromKolkata(local));
    expect(edited.credits).to.deep.equal({ remaining: 777, refill: { amount: 10_000, interval: 'daily' } });
    expect(edited.ratelimits).to.deep.equal(ratelimits);
    await access.locator('#credits', { hasText: /^777 left/ }).waitFor();
    expect(await focusedText()).to.equal('Edit key');

    // Edit again: drop one limit, tighten the other, and set 3 credits refilled to 50 every 6 hours.
    await access.getByRole('button', { name: 'Edit key' }).click();
    await dialog.getByRole('button', { name: 'Remove rate limit 1' }).click();
    expect(await inPage('document.activeElement?.value')).to.equal('daily'); // focus moves to the row that took its place
    await fillLimit(dialog, 1, 'daily', '1000', '1', 'days');
    await dialogCredits.getByLabel('Credits left', { exact: true }).fill('3');
    await dialogCredits.getByLabel('Refill', { exact: true }).selectOption({ label: 'Every…' });
    await dialogCredits.getByLabel('Refill to', { exact: true }).fill('50');
    await dialogCredits.getByLabel('Refill period', { exact: true }).fill('6');
    await dialogCredits.getByLabel('Refill period unit', { exact: true }).selectOption({ label: 'hours' });
    await page.screenshot({ path: path.join(SHOTS, 'edit-key-rate-limits-and-credits.png') });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });
    await access.locator('#credits', { hasText: /^3 left/ }).waitFor();
    expect(await access.locator('#credits').textContent()).to.equal('3 left, refilled to 50 every 6 hours');
    expect(await access.locator('#ratelimits li').allTextContents()).to.deep.equal(['daily: 1,000 calls per day']);
    const tightened = await keyInfo(name);
    expect(tightened.ratelimits).to.deep.equal([{ name: 'daily', limit: 1000, duration_ms: 86_400_000 }]);
    expect(tightened.credits).to.deep.equal({ remaining: 3, refill: { amount: 50, interval: 21_600_000 } });
    expect(tightened.expires_at).to.equal(edited.expires_at);
    // Exactly 3 calls, then the token is out of credits until the refill.
    for (let i = 0; i < 3; i++) expectResult(await svc.call('frappe.auth.get_logged_user', {}, shown.token));
    const spent = expectError(await svc.call('frappe.auth.get_logged_user', {}, shown.token), -32029, 429);
    expect(spent.data.credits).to.equal(0);

    // Emptied: no rate limits, unlimited credits (sent as [] and null).
    await access.getByRole('button', { name: 'Edit key' }).click();
    await dialog.getByRole('button', { name: 'Remove rate limit 1' }).click();
    expect(await focusedText()).to.equal('Add a rate limit');
    await dialogCredits.getByLabel('Credits left', { exact: true }).fill('');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expectFieldError(dialogCredits, 'Credits left', 'Write the credits left: a refill needs a balance to start from.');
    await dialogCredits.getByLabel('Refill', { exact: true }).selectOption({ label: 'No refill' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });
    await access.locator('#credits', { hasText: 'unlimited' }).waitFor();
    expect(await access.locator('#ratelimits').textContent()).to.equal('none');
    const cleared = await keyInfo(name);
    expect(cleared.ratelimits).to.deep.equal([]);
    expect(cleared.credits).to.equal(null);
    expectResult(await svc.call('frappe.auth.get_logged_user', {}, shown.token));
    await expectOnlySameOrigin();
  });

  it('tells by the field what a signed-in token with rate limits and credits may not give a key, and what it may', async () => {
    const manager = 'limited.manager';
    await svc.asAdmin('user.create', { name: manager, roles: ['System Manager'] });
    const token = tokenOf(
      await svc.asAdmin(GENERATE, { user: manager, ratelimits: [{ name: 'm', limit: 1000, duration_ms: 60_000 }], credits: { remaining: 1000 } }),
    );
    // No roles: a restricted token may key only a user whose roles it holds itself.
    const name = 'limited.target';
    await svc.asAdmin('user.create', { name });
    await signIn(token);
    await expectHeading('Users');
    const access = await openUser(name);
    await access.getByText('none yet').waitFor();
    const limits = access.getByRole('group', { name: 'Rate limits', exact: true });
    const credits = access.getByRole('group', { name: 'Credits', exact: true });

    // A key without a limit as tight as the token's own: refused, told by Rate limits.
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectGroupError(
      access,
      'Rate limits',
      "Not allowed: the key's rate limits must include one at least as tight as your token's m: at most 1000 calls in a window of at least 60000 ms.",
    );
    // One as tight, but no credits: told by Credits.
    await limits.getByRole('button', { name: 'Add a rate limit' }).click();
    await fillLimit(limits, 1, 'slow', '10', '1', 'minutes');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectGroupError(access, 'Credits', 'Not allowed: a key without credits can spend more than your token, which has credits.');
    expect(await limits.locator('.field-error:visible').count(), 'the rate limits error is gone').to.equal(0);
    // Credits with a refill would grant credits nobody paid for.
    await credits.getByLabel('Credits left', { exact: true }).fill('5');
    await credits.getByLabel('Refill', { exact: true }).selectOption({ label: 'Every month, on the 1st at 00:00 UTC' });
    await credits.getByLabel('Refill to', { exact: true }).fill('5');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectGroupError(access, 'Credits', 'Not allowed: a token with credits cannot give a key a refill: the refill would grant credits nobody paid for.');
    expectError(await svc.call('auth.keys.get', { user: name }), -32004); // nothing was made

    // Within the token: made, and its 5 credits came out of the token's own.
    const before = expectResult(await svc.call('auth.verify', {}, token)).credits;
    await credits.getByLabel('Refill', { exact: true }).selectOption({ label: 'No refill' });
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const shown = await takeSecret();
    expect(shown.credits).to.equal('5 left');
    const made = await keyInfo(name);
    expect(made.ratelimits).to.deep.equal([{ name: 'slow', limit: 10, duration_ms: 60_000 }]);
    expect(made.credits).to.deep.equal({ remaining: 5, refill: null });
    expect(expectResult(await svc.call('auth.verify', {}, token)).credits).to.be.at.most(before - 1 - 5 - 1);
    await expectOnlySameOrigin();
  });

  it('tells a past expiry and a mistyped scope in plain words, and changes nothing', async () => {
    const name = 'past.web';
    const token = await svc.userWithToken(name, ['Token Verifier']);
    const before = await keyInfo(name);
    await signInAsAdmin();
    const access = await openUser(name);

    // Generate Keys: the service refuses a past time; the words sit by the field.
    await access.getByLabel('Expires', { exact: true }).fill('2001-02-03T04:05');
    await access.getByLabel('Keep the old secret working for').selectOption({ label: '1 day' });
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await page.getByRole('dialog', { name: 'Generate a new secret?' }).getByRole('button', { name: 'Generate new secret' }).click();
    await expectFieldError(access, 'Expires', 'Expires must be a time in the future.');
    expect(await inPage('document.activeElement?.name')).to.equal('expires_at');
    expect(await page.locator('dialog').count()).to.equal(0);
    expect(await keyInfo(name)).to.deep.equal(before);

    // A scope that is no method-name pattern is told before anything is asked or sent.
    await access.getByLabel('Expires', { exact: true }).fill('');
    await access.getByLabel('Scopes', { exact: true }).fill('user.*\nusers.list()');
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectFieldError(access, 'Scopes', '“users.list()” is not a method-name pattern');
    expect(await access.locator('.field-error:visible').count(), 'the Expires error is gone').to.equal(1);
    expect(await page.locator('dialog').count()).to.equal(0);

    // Edit key: the dialog stays open with the words by the field.
    await access.getByRole('button', { name: 'Edit key' }).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${name}’s key` });
    await dialog.getByLabel('Never expires').uncheck();
    await dialog.getByLabel('Expires', { exact: true }).fill('2001-02-03T04:05');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expectFieldError(dialog, 'Expires', 'Expires must be a time in the future.');
    await page.screenshot({ path: path.join(SHOTS, 'past-expiry-in-edit-dialog.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('dialog').waitFor({ state: 'detached' });

    expect(await keyInfo(name)).to.deep.equal(before);
    expect(expectResult(await svc.call('auth.verify', {}, token)).user).to.equal(name);
    await expectOnlySameOrigin();
  });

  it('tells the longest grace this service allows', async () => {
    const short = await startService({ maxGraceSeconds: 600 });
    try {
      const name = 'short.grace';
      const old = await short.userWithToken(name);
      await signInAsAdmin(short);
      const access = await openUser(name);
      const before = await keyInfo(name, short);
      const choose = async (grace: string) => {
        await access.getByLabel('Keep the old secret working for').selectOption({ label: grace });
        await access.getByRole('button', { name: 'Generate Keys' }).click();
        await page.getByRole('dialog', { name: 'Generate a new secret?' }).getByRole('button', { name: 'Generate new secret' }).click();
      };
      await choose('1 hour');
      await expectFieldError(
        access,
        'Keep the old secret working for',
        'This service keeps an old secret working for at most 10 minutes. Choose a shorter time.',
      );
      expect(await keyInfo(name, short)).to.deep.equal(before);

      await choose('5 minutes');
      const shown = await takeSecret();
      expect(Date.parse(shown.graceEnd ?? '') - Date.now()).to.be.within(290_000, 300_000);
      expect(expectResult(await short.call('auth.verify', {}, old)).user).to.equal(name);
      expect(expectResult(await short.call('auth.verify', {}, shown.token)).user).to.equal(name);
    } finally {
      await short.close();
    }
  });

  it('says plainly that a key has expired, and asks Generate Keys for a new expiry', async () => {
    const name = 'expired.web';
    await svc.asAdmin('user.create', { name });
    const issued = await svc.asAdmin(GENERATE, { user: name, expires_at: new Date(Date.now() + 1_500).toISOString() });
    const token = tokenOf(issued);
    await sleep(Date.parse(issued.expires_at) - Date.now() + 100);
    expectError(await svc.call('auth.verify', {}, token), -32001, 401);

    await signInAsAdmin();
    const access = await openUser(name);
    const notice = access.locator('#key-expired');
    expect(await notice.textContent()).to.match(/^This key expired on .+: its token no longer works\./);
    expect(await access.locator('dd', { hasText: '(expired)' }).count()).to.equal(1);

    // Keeping the lapsed expiry would issue a secret dead on arrival: the page asks first...
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    await expectFieldError(access, 'Expires', 'choose a new time, or Never expires.');
    expect(await page.locator('dialog').count()).to.equal(0);
    // ...as the service would (its words, told the same way, are checked in the other tests).
    const refused = expectError(await svc.call(GENERATE, { user: name }), -32602);
    expect(refused.data[0].path).to.equal('/expires_at');

    await access.getByLabel('Never expires').check();
    await access.getByRole('button', { name: 'Generate Keys' }).click();
    const confirm = page.getByRole('dialog', { name: 'Generate a new secret?' });
    expect(await confirm.textContent()).to.include('The key will never expire.');
    await confirm.getByRole('button', { name: 'Generate new secret' }).click();
    const shown = await takeSecret();
    expect(shown.expires).to.equal(null);
    await notice.waitFor({ state: 'detached' });
    const me = expectResult(await svc.call('auth.verify', {}, shown.token));
    expect(me).to.include({ user: name, expires_at: null });
    await expectOnlySameOrigin();
  });

  it('fits a narrow window', async () => {
    await context.close();
    await openPage({ width: 360, height: 740 });
    await signInAsAdmin();
    const overflow = () => inPage<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(await overflow()).to.be.at.most(0);
    await page.getByRole('link', { name: 'Administrator' }).click();
    await expectHeading('Administrator');
    await page.getByRole('region', { name: 'API Access' }).locator('#api-key').waitFor();
    expect(await overflow()).to.be.at.most(0);
    await page.getByRole('button', { name: 'Generate Keys' }).click();
    await page.getByRole('dialog', { name: 'Generate a new secret?' }).waitFor();
    expect(await overflow()).to.be.at.most(0);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expectOnlySameOrigin();
  });
});
