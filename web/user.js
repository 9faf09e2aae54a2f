// One user, and its API Access: the key's metadata; Generate Keys with its
// options (expiry, scopes, IP allowlist, rate limits, credits, grace for the
// old secret); Edit key (the same, but the grace, without a new secret);
// Revoke keys.

import { h, fill, time, details, localTime, id } from './dom.js';
import { confirmDialog, formDialog, secretDialog } from './dialog.js';
import { RpcError } from './rpc.js';
import {
  expiryField,
  scopesField,
  allowlistField,
  graceField,
  readFields,
  showProblems,
  scopeWords,
  allowlistWords,
  duration,
  ANY_METHOD,
  ANYWHERE,
} from './keyfields.js';
import { ratelimitsField, creditsField, rateLimitWords, ratelimitsWords, creditsWords, NO_RATELIMITS } from './limitfields.js';
import { rolesCell } from './users.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

export async function userView(main, ctx, name) {
  const user = await ctx.api('user.get', { name });
  const access = h('section', { class: 'card access', 'aria-labelledby': 'access-title' });
  fill(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/users' }, '← All users')),
    h('h1', {}, user.name),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'user-title' },
      h('h2', { id: 'user-title' }, 'User'),
      details([
        ['Full name', user.full_name],
        ['Roles', rolesCell(user.roles)],
        ['Enabled', user.enabled ? 'Yes' : h('strong', { class: 'off' }, 'No: its token does not work')],
        ['Created', time(user.created_at)],
        ['Modified', time(user.modified_at)],
      ]),
    ),
    access,
  );
  ctx.focusHeading(user.name);
  await apiAccess(access, ctx, user.name);
}

/**
 * Draws the API Access section. `key` is the keyInfo, null when the user has
 * none, undefined when it could not be read (then Generate Keys still asks
 * first, and offers what a rotation would).
 */
async function apiAccess(section, ctx, user, focus) {
  let key;
  let problem;
  try {
    key = await ctx.api('auth.keys.get', { user });
  } catch (err) {
    if (err instanceof RpcError && err.code === -32004) key = null;
    else if (err instanceof RpcError && err.unauthenticated) throw err;
    else problem = err;
  }
  const self = user === ctx.me();
  // The browser's clock, as the service's: both run on the operator's side of the wire.
  const expired = Boolean(key?.expires_at) && Date.parse(key.expires_at) <= Date.now();

  const mode = key === null ? 'first' : 'rotate';
  const fields = {
    expires_at: expiryField({ mode, current: key?.expires_at ?? null, expired, known: key !== undefined }),
    scopes: scopesField({ mode, current: key?.scopes ?? [], known: key !== undefined }),
    ip_allowlist: allowlistField({ mode, current: key?.ip_allowlist ?? [], known: key !== undefined }),
    ratelimits: ratelimitsField({ mode, current: key?.ratelimits ?? [], known: key !== undefined }),
    credits: creditsField({ mode, current: key?.credits ?? null, known: key !== undefined }),
    // Grace only means something when there is an old secret to keep.
    grace_seconds: key === null ? null : graceField(),
  };
  const generate = h('button', { type: 'submit', class: 'primary', 'data-action': 'generate' }, 'Generate Keys');
  const edit = key ? h('button', { type: 'button', 'data-action': 'edit' }, 'Edit key') : null;
  const revoke = key ? h('button', { type: 'button', class: 'danger', 'data-action': 'revoke' }, 'Revoke keys') : null;
  const generateTitle = id('generate-title');
  const form = h(
    'form',
    { class: 'generate', 'aria-labelledby': generateTitle, novalidate: true },
    h('h3', { id: generateTitle }, 'Generate Keys'),
    h('p', { class: 'hint' }, key ? 'Keeps the api_key and issues a new api_secret.' : 'Issues an api_key and api_secret.'),
    Object.values(fields)
      .filter(Boolean)
      .map((f) => f.el),
    h('div', { class: 'actions' }, generate),
  );

  let facts;
  if (problem) facts = h('p', { class: 'error' }, `Could not read the key: ${problem.message}`);
  else if (key === null) facts = details([['API key', h('span', { class: 'muted', id: 'api-key' }, 'none yet')]]);
  else {
    facts = details(
      [
        ['API key', h('code', { id: 'api-key' }, key.api_key)],
        ['Created', time(key.created_at)],
        ['Secret issued', time(key.rotated_at)],
        ['Last used', time(key.last_used_at, 'never')],
        ['Expires', expired ? [time(key.expires_at), ' ', h('strong', { class: 'off' }, '(expired)')] : time(key.expires_at, 'never')],
        ['Scopes', key.scopes.length ? key.scopes.map((s) => h('code', { class: 'scope' }, s)) : h('span', { class: 'muted' }, ANY_METHOD)],
        [
          'IP allowlist',
          h(
            'span',
            { id: 'ip-allowlist' },
            key.ip_allowlist.length ? key.ip_allowlist.map((r) => h('code', { class: 'range' }, r)) : h('span', { class: 'muted' }, ANYWHERE),
          ),
        ],
        [
          'Rate limits',
          key.ratelimits.length
            ? h(
                'ul',
                { class: 'plain', id: 'ratelimits' },
                key.ratelimits.map((r) => h('li', {}, rateLimitWords(r))),
              )
            : h('span', { class: 'muted', id: 'ratelimits' }, NO_RATELIMITS),
        ],
        ['Credits', h('span', { id: 'credits', class: key.credits ? null : 'muted' }, creditsWords(key.credits))],
        key.previous_valid_until ? ['Old secret works until', h('span', { id: 'old-secret-until' }, time(key.previous_valid_until))] : null,
      ].filter(Boolean),
    );
  }
  fill(
    section,
    h('h2', { id: 'access-title', tabindex: '-1' }, 'API Access'),
    expired
      ? h(
          'p',
          { class: 'warning', id: 'key-expired' },
          h('strong', {}, `This key expired on ${localTime(key.expires_at)}: its token no longer works.`),
          ' To issue a new secret, choose a new expiry or Never expires under Generate Keys; Edit key makes it work again with the same secret.',
        )
      : null,
    facts,
    key ? h('div', { class: 'actions' }, edit, revoke) : null,
    form,
  );
  if (focus === 'generate') generate.focus();
  else if (focus === 'edit') edit?.focus();
  else if (focus === 'heading') section.querySelector('h2')?.focus();

  const redraw = (where) => apiAccess(section, ctx, user, where).catch(ctx.fail);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    ctx.clearMessages();
    const params = readFields(fields);
    if (!params) return;
    if (key !== null) {
      const ok = await confirmDialog({
        title: 'Generate a new secret?',
        body: [
          key
            ? [`${user} already has the api_key `, h('code', {}, key.api_key), '. It stays the same.']
            : `${user} may already have an api_key. If so, it stays the same.`,
          params.grace_seconds
            ? `A new api_secret replaces the current one. The current secret keeps working for ${duration(params.grace_seconds)}, so programs can switch to the new one without downtime; then it stops.`
            : 'A new api_secret replaces the current one at once: anything still using the current secret stops working until it is given the new one.',
          expiryWords(key, params),
          params.scopes ? `The token may call only: ${params.scopes.join(', ')}.` : key ? `The scopes stay: ${scopeWords(key.scopes)}.` : null,
          params.ip_allowlist
            ? `The token may be used only from: ${params.ip_allowlist.join(', ')}.`
            : key
              ? `The IP allowlist stays: ${allowlistWords(key.ip_allowlist)}.`
              : null,
          params.ratelimits
            ? `The rate limits become: ${ratelimitsWords(params.ratelimits)}.`
            : key
              ? `The rate limits stay: ${ratelimitsWords(key.ratelimits)}.`
              : null,
          params.credits ? `The credits are set: ${creditsWords(params.credits)}.` : key ? `The credits stay: ${creditsWords(key.credits)}.` : null,
          self ? 'This is the key you are signed in with: after you copy the new secret you will be signed out, and can sign in again with it.' : null,
        ],
        confirm: 'Generate new secret',
      });
      if (!ok) return;
    }
    generate.disabled = true;
    let issued;
    try {
      issued = await ctx.api(GENERATE, { user, ...params });
    } catch (err) {
      generate.disabled = false;
      if (err instanceof RpcError && err.unauthenticated) return;
      if (!showProblems(err, fields)) ctx.fail(err);
      return;
    }
    await secretDialog({
      user,
      apiKey: issued.api_key,
      apiSecret: issued.api_secret,
      expiresAt: issued.expires_at,
      scopes: issued.scopes,
      ipAllowlist: issued.ip_allowlist,
      ratelimits: issued.ratelimits,
      credits: issued.credits,
      previousValidUntil: issued.previous_valid_until,
    });
    const until = issued.previous_valid_until;
    issued = undefined;
    if (self) return ctx.signOut('Your secret changed. Sign in with the new api_secret.');
    ctx.announce(`New secret issued for ${user}. It is no longer shown.${until ? ` The old secret works until ${localTime(until)}.` : ''}`);
    await redraw('generate');
  });

  edit?.addEventListener('click', async () => {
    ctx.clearMessages();
    const changes = {
      expires_at: expiryField({ mode: 'edit', current: key.expires_at, expired }),
      scopes: scopesField({ mode: 'edit', current: key.scopes }),
      ip_allowlist: allowlistField({ mode: 'edit', current: key.ip_allowlist }),
      ratelimits: ratelimitsField({ mode: 'edit', current: key.ratelimits }),
      credits: creditsField({ mode: 'edit', current: key.credits }),
    };
    const saved = await formDialog({
      title: `Edit ${user}’s key`,
      body: [
        [
          'The api_key ',
          h('code', {}, key.api_key),
          ' and its secret stay the same: only when the token stops working, which methods it may call, where it may be used from, and how often and how much it may call change, at once.',
        ],
        self
          ? 'This is the key you are signed in with: scopes that leave out the methods this page calls (user.*, auth.* and generate_keys), an IP allowlist without your address, or no credits left, would shut the page out; each view of the page makes a few calls.'
          : null,
      ],
      fields: Object.values(changes).map((f) => f.el),
      confirm: 'Save',
      submit: async () => {
        const params = readFields(changes);
        if (!params) return null;
        if (Object.keys(params).length === 0)
          throw new Error('Nothing to save: change the expiry, the scopes, the IP allowlist, the rate limits or the credits, or press Cancel.');
        try {
          return { value: await ctx.api('auth.keys.update', { user, ...params }) };
        } catch (err) {
          if (showProblems(err, changes)) return null;
          throw err;
        }
      },
    });
    if (!saved) return;
    ctx.announce(`Saved ${user}’s key. Its secret did not change.`);
    await redraw('edit');
  });

  revoke?.addEventListener('click', async () => {
    ctx.clearMessages();
    const ok = await confirmDialog({
      title: `Revoke the keys of ${user}?`,
      body: [
        ['The api_key ', h('code', {}, key.api_key), ' and its secret stop working at once, for every program that uses them.'],
        'Generate Keys afterwards issues a new api_key, not this one.',
        self ? 'This is the key you are signed in with: you will be signed out.' : null,
      ],
      confirm: 'Revoke keys',
      danger: true,
    });
    if (!ok) return;
    revoke.disabled = true;
    try {
      await ctx.api('auth.keys.revoke', { user });
    } catch (err) {
      revoke.disabled = false;
      if (!(err instanceof RpcError && err.unauthenticated)) ctx.fail(err);
      return;
    }
    if (self) return ctx.signOut('Your keys were revoked.');
    ctx.announce(`The keys of ${user} are revoked.`);
    await redraw('heading');
  });
}

/** What a rotation does to the expiry, for the confirmation. */
function expiryWords(key, params) {
  if (params.expires_at === null) return 'The key will never expire.';
  if (params.expires_at) return `The key will expire on ${localTime(params.expires_at)}.`;
  if (!key) return null;
  return key.expires_at ? `The expiry stays: ${localTime(key.expires_at)}.` : 'The key still never expires.';
}
