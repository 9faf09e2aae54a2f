// One user, and its API Access: the key's metadata, Generate Keys, Revoke keys.

import { h, fill, time, details } from './dom.js';
import { confirmDialog, secretDialog } from './dialog.js';
import { RpcError } from './rpc.js';

const GENERATE = 'frappe.core.doctype.user.user.generate_keys';

export async function userView(main, ctx, name) {
  const user = await ctx.api('user.get', { name });
  const access = h('section', { class: 'card access', 'aria-labelledby': 'access-title' });
  fill(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/users' }, '← All users')),
    h('h1', {}, user.name),
    h('section', { class: 'card', 'aria-labelledby': 'user-title' },
      h('h2', { id: 'user-title' }, 'User'),
      details([
        ['Full name', user.full_name],
        ['Roles', user.roles.length ? user.roles.join(', ') : h('span', { class: 'muted' }, 'none')],
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
 * none, undefined when it could not be read (then Generate Keys still asks first).
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
  const generate = h('button', { type: 'button', class: 'primary', 'data-action': 'generate' }, 'Generate Keys');
  const revoke = key ? h('button', { type: 'button', class: 'danger', 'data-action': 'revoke' }, 'Revoke keys') : null;

  let facts;
  if (problem) facts = h('p', { class: 'error' }, `Could not read the key: ${problem.message}`);
  else if (key === null) facts = details([['API key', h('span', { class: 'muted', id: 'api-key' }, 'none yet')]]);
  else {
    facts = details([
      ['API key', h('code', { id: 'api-key' }, key.api_key)],
      ['Created', time(key.created_at)],
      ['Secret issued', time(key.rotated_at)],
      ['Last used', time(key.last_used_at, 'never')],
      ['Expires', time(key.expires_at, 'never')],
      ['Scopes', key.scopes.length ? key.scopes.map((s) => h('code', { class: 'scope' }, s)) : h('span', { class: 'muted' }, 'any method the user’s roles allow')],
      key.previous_valid_until ? ['Previous secret works until', time(key.previous_valid_until)] : null,
    ].filter(Boolean));
  }
  fill(
    section,
    h('h2', { id: 'access-title', tabindex: '-1' }, 'API Access'),
    facts,
    h('p', { class: 'hint' }, key ? 'Generate Keys keeps the api_key and issues a new api_secret.' : 'Generate Keys issues an api_key and api_secret.'),
    h('div', { class: 'actions' }, generate, revoke),
  );
  if (focus === 'generate') generate.focus();
  else if (focus === 'heading') section.querySelector('h2')?.focus();

  const redraw = (where) => apiAccess(section, ctx, user, where).catch(ctx.fail);

  generate.addEventListener('click', async () => {
    ctx.clearMessages();
    if (key !== null) {
      const ok = await confirmDialog({
        title: 'Generate a new secret?',
        body: [
          key ? [`${user} already has the api_key `, h('code', {}, key.api_key), '. It stays the same.'] : `${user} may already have an api_key. If so, it stays the same.`,
          'A new api_secret replaces the current one at once: anything still using the current secret stops working until it is given the new one.',
          self ? 'This is the key you are signed in with: after you copy the new secret you will be signed out, and can sign in again with it.' : null,
        ],
        confirm: 'Generate new secret',
      });
      if (!ok) return;
    }
    generate.disabled = true;
    let issued;
    try {
      issued = await ctx.api(GENERATE, { user });
    } catch (err) {
      generate.disabled = false;
      if (!(err instanceof RpcError && err.unauthenticated)) ctx.fail(err);
      return;
    }
    await secretDialog({ user, apiKey: issued.api_key, apiSecret: issued.api_secret });
    issued = undefined;
    if (self) return ctx.signOut('Your secret changed. Sign in with the new api_secret.');
    ctx.announce(`New secret issued for ${user}. It is no longer shown.`);
    await redraw('generate');
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
