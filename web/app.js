// The page: sign in with a System Manager's key, then Users -> a user ->
// API Access. Hash routes (#/users, #/users/new, #/user/<name>) keep the back
// button working while the service serves one page.

import { call, session, BAD_TOKEN, RpcError } from './rpc.js';
import { h, fill } from './dom.js';
import { usersView, newUserView } from './users.js';
import { userView } from './user.js';

const SYSTEM_MANAGER = 'System Manager';

const $ = (sel) => document.querySelector(sel);
const main = $('#main');
const nav = $('#nav');
const statusEl = $('#status');
const alertEl = $('#alert');

/** Says something politely to screen readers and shows it. */
let statusTimer;
function announce(text) {
  statusEl.textContent = '';
  clearTimeout(statusTimer);
  // Set after a tick, so the same words are read again; cleared from sight
  // later (emptying a live region is not read out).
  statusTimer = setTimeout(() => {
    statusEl.textContent = text;
    statusTimer = setTimeout(() => (statusEl.textContent = ''), 15_000);
  }, 50);
}

/** Shows an error in plain words (role=alert reads it at once). */
function fail(err) {
  const text = err instanceof Error ? err.message : String(err);
  alertEl.textContent = text;
  alertEl.hidden = false;
  alertEl.scrollIntoView({ block: 'nearest' });
}

function clearMessages() {
  alertEl.hidden = true;
  alertEl.textContent = '';
}

/** Titles the page and moves focus to the view's heading, so readers start there. */
function focusHeading(title) {
  document.title = `${title} · tokenauth`;
  const heading = main.querySelector('h1');
  heading?.setAttribute('tabindex', '-1');
  heading?.focus();
}

function signOut(reason) {
  session.forget();
  nav.hidden = true;
  fill($('#who'));
  announce('Signed out.');
  render();
  if (reason) fail(reason);
}

/** A call with the session's token; a refused token signs out. */
async function api(method, params) {
  try {
    return await call(method, params);
  } catch (err) {
    if (err instanceof RpcError && err.unauthenticated) {
      signOut(`Your key no longer works: ${BAD_TOKEN} Sign in again.`);
    }
    throw err;
  }
}

function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

const ctx = { api, announce, fail, clearMessages, focusHeading, navigate, signOut, me: () => session.user };

function showSignedIn(user) {
  fill($('#who'), user);
  nav.hidden = false;
}

function signInView() {
  const keyInput = h('input', {
    id: 'sign-key',
    name: 'api_key',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    required: true,
    'aria-describedby': 'sign-key-hint',
  });
  const secretInput = h('input', { id: 'sign-secret', name: 'api_secret', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card form', 'aria-labelledby': 'sign-in-title', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'sign-key' }, 'api_key'),
      keyInput,
      h('p', { id: 'sign-key-hint', class: 'hint' }, 'Starts with tak_. Pasting a whole token api_key:api_secret here works too.'),
    ),
    h('div', { class: 'field' }, h('label', { for: 'sign-secret' }, 'api_secret'), secretInput),
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearMessages();
    let key = keyInput.value.trim();
    let secret = secretInput.value.trim();
    if (!secret && key.includes(':')) [key, secret] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    if (!key || !secret) {
      fail('Paste both the api_key and the api_secret.');
      (key ? secretInput : keyInput).focus();
      return;
    }
    const token = `${key}:${secret}`;
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const me = await call('auth.verify', {}, token);
      if (!me?.valid || !Array.isArray(me.roles) || !me.roles.includes(SYSTEM_MANAGER)) {
        secretInput.value = '';
        fail(`This key belongs to ${me?.user ?? 'a user'}, who is not a System Manager. Only System Managers can use this page.`);
        return;
      }
      session.save(token, me.user);
      keyInput.value = '';
      secretInput.value = '';
      showSignedIn(me.user);
      announce(`Signed in as ${me.user}.`);
      if (!location.hash || location.hash === '#/') location.hash = '#/users';
      else render();
      if (Array.isArray(me.scopes) && me.scopes.length > 0) {
        fail(`This key may call only ${me.scopes.join(', ')}; the page may be refused other actions.`);
      }
    } catch (err) {
      secretInput.value = '';
      fail(err);
      secretInput.focus();
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  fill(
    main,
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    h(
      'p',
      {},
      'Paste the api_key and api_secret of a System Manager. They stay in this browser tab only and are forgotten when you sign out or close the tab.',
    ),
    form,
  );
  focusHeading('Sign in');
}

function notFoundView() {
  fill(main, h('h1', {}, 'Nothing here'), h('p', {}, h('a', { href: '#/users' }, 'Go to the users')));
  focusHeading('Nothing here');
}

let rendering = 0;

/** Draws the view the hash names (or the sign-in form). */
async function render() {
  const mine = ++rendering;
  if (!session.token) return signInView();
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?', 2);
  const params = new URLSearchParams(query);
  const view = async () => {
    if (path === '' || path === '/' || path === '/users') return usersView(main, ctx, params);
    if (path === '/users/new') return newUserView(main, ctx);
    if (path.startsWith('/user/')) return userView(main, ctx, decodeURIComponent(path.slice('/user/'.length)));
    return notFoundView();
  };
  try {
    await view();
  } catch (err) {
    if (mine === rendering && session.token) fail(err);
  }
}

window.addEventListener('hashchange', () => {
  clearMessages();
  render();
});

$('#sign-out').addEventListener('click', () => signOut());

async function start() {
  $('#loading')?.remove();
  if (session.token) {
    try {
      const me = await call('auth.verify', {});
      if (!me.roles?.includes(SYSTEM_MANAGER)) throw new Error('its user is not a System Manager.');
      showSignedIn(me.user);
    } catch (err) {
      session.forget();
      const why = err instanceof RpcError && err.unauthenticated ? BAD_TOKEN : err instanceof Error ? err.message : '';
      fail(`Your saved key could not be used: ${why} Sign in again.`);
    }
  }
  render();
}

start();
