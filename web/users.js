// Users: the list (search and paging) and the form for a new user.

import { h, fill, id } from './dom.js';

const PAGE = 20;
const KNOWN_ROLES = [
  ['System Manager', 'manages users and keys, and may use this page'],
  ['Token Verifier', 'may check other tokens with auth.verify'],
];
const NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._@+\\-]*';

function userLink(name) {
  return `#/user/${encodeURIComponent(name)}`;
}

/** A user's roles as the list and the user's page show them: joined, or a muted "none". */
export function rolesCell(roles) {
  return roles.length ? roles.join(', ') : h('span', { class: 'muted' }, 'none');
}

/** The list's caption: the rows shown, or why there are none. */
function captionText({ q, start, shown, more }) {
  if (shown) return `${q ? `Users matching “${q}”` : 'Users'}, ${start + 1}–${start + shown}${more ? '' : ' (last page)'}`;
  if (q) return `No user matches “${q}”.`;
  return start > 0 ? 'No more users.' : 'No users yet.';
}

/** The list. Search and paging redraw only the table and keep the URL in step. */
export async function usersView(main, ctx, params) {
  let q = (params.get('q') ?? '').trim();
  let start = Math.max(0, Number.parseInt(params.get('start') ?? '0', 10) || 0);

  const search = h('input', {
    id: 'user-search',
    type: 'search',
    name: 'q',
    value: q,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'user-search-hint',
  });
  const searchForm = h(
    'form',
    { class: 'search', role: 'search', 'aria-label': 'Users' },
    h('label', { for: 'user-search' }, 'Search by name'),
    h('div', { class: 'inline' }, search, h('button', { type: 'submit' }, 'Search')),
    h('p', { id: 'user-search-hint', class: 'hint' }, 'Part of a name, such as jane or @example.com. Empty shows everyone.'),
  );
  const caption = h('caption', {});
  const body = h('tbody', { role: 'rowgroup' });
  const head = h(
    'thead',
    { role: 'rowgroup' },
    h(
      'tr',
      { role: 'row' },
      ['Name', 'Full name', 'Roles', 'Enabled'].map((t) => h('th', { scope: 'col', role: 'columnheader' }, t)),
    ),
  );
  // Explicit roles: the narrow layout restyles the cells as blocks, which
  // some browsers take as leaving the table's semantics behind.
  const table = h('table', { class: 'users', role: 'table', tabindex: '-1' }, caption, head, body);
  const prev = h('button', { type: 'button', 'data-page': 'prev' }, 'Previous page');
  const next = h('button', { type: 'button', 'data-page': 'next' }, 'Next page');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of users' }, prev, next);

  fill(
    main,
    h('div', { class: 'title-row' }, h('h1', {}, 'Users'), h('a', { class: 'button primary', href: '#/users/new' }, 'New user')),
    searchForm,
    h('div', { class: 'table-wrap' }, table),
    pager,
  );
  ctx.focusHeading('Users');

  const load = async (announce) => {
    table.setAttribute('aria-busy', 'true');
    fill(caption, 'Loading users…');
    const request = { start, limit: PAGE + 1 };
    if (q) request.filters = [['name', 'like', `%${q}%`]];
    let rows;
    try {
      rows = await ctx.api('user.list', request);
    } catch (err) {
      fill(caption, q ? `Could not search the users for “${q}”.` : 'Could not load the users.');
      fill(body);
      prev.disabled = next.disabled = true;
      throw err;
    } finally {
      table.removeAttribute('aria-busy');
    }
    const page = rows.slice(0, PAGE);
    const more = rows.length > PAGE;
    fill(caption, captionText({ q, start, shown: page.length, more }));
    fill(
      body,
      page.map((u) =>
        h(
          'tr',
          { role: 'row' },
          h('th', { scope: 'row', role: 'rowheader', 'data-label': 'Name' }, h('a', { href: userLink(u.name) }, u.name)),
          h('td', { role: 'cell', 'data-label': 'Full name' }, u.full_name),
          h('td', { role: 'cell', 'data-label': 'Roles' }, rolesCell(u.roles)),
          h('td', { role: 'cell', 'data-label': 'Enabled' }, u.enabled ? 'Yes' : h('strong', { class: 'off' }, 'No (disabled)')),
        ),
      ),
    );
    head.hidden = page.length === 0;
    const focused = document.activeElement;
    prev.disabled = start === 0;
    next.disabled = !more;
    if (focused instanceof HTMLButtonElement && focused.disabled) table.focus();
    pager.hidden = start === 0 && !more;
    if (announce) ctx.announce(caption.textContent ?? '');
  };

  const go = (nextStart, nextQ) => {
    start = nextStart;
    q = nextQ;
    const query = new URLSearchParams();
    if (q) query.set('q', q);
    if (start) query.set('start', String(start));
    const qs = query.toString();
    const hash = `#/users${qs ? `?${qs}` : ''}`;
    // pushState, not location.hash: no hashchange, so the form and focus stay put.
    if (location.hash !== hash) history.pushState(null, '', hash);
    ctx.clearMessages();
    load(true).catch(ctx.fail);
  };
  searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    go(0, search.value.trim());
  });
  prev.addEventListener('click', () => go(Math.max(0, start - PAGE), q));
  next.addEventListener('click', () => go(start + PAGE, q));

  await load(false);
}

/** The form for a new user. */
export function newUserView(main, ctx) {
  const nameInput = h('input', {
    id: 'new-name',
    name: 'name',
    required: true,
    maxlength: '140',
    pattern: NAME_PATTERN,
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    'aria-describedby': 'new-name-hint',
  });
  const fullInput = h('input', { id: 'new-full-name', name: 'full_name', maxlength: '140', autocomplete: 'off', 'aria-describedby': 'new-full-name-hint' });
  const roleBoxes = KNOWN_ROLES.map(([role, what]) => {
    const boxId = id('role');
    const hintId = `${boxId}-hint`;
    const box = h('input', { type: 'checkbox', id: boxId, value: role, 'aria-describedby': hintId });
    return { role, box, row: h('div', { class: 'check' }, box, h('label', { for: boxId }, role), h('span', { id: hintId, class: 'hint' }, what)) };
  });
  const otherRoles = h('input', { id: 'new-other-roles', name: 'other_roles', autocomplete: 'off', 'aria-describedby': 'new-other-roles-hint' });
  const enabled = h('input', { type: 'checkbox', id: 'new-enabled', checked: true, 'aria-describedby': 'new-enabled-hint' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create user');

  const form = h(
    'form',
    { class: 'card form', 'aria-labelledby': 'new-user-title' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'new-name' }, 'Name (required)'),
      nameInput,
      h('p', { id: 'new-name-hint', class: 'hint' }, 'A plain name such as jane, or an email address: letters, digits and . _ @ + -'),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'new-full-name' }, 'Full name'),
      fullInput,
      h('p', { id: 'new-full-name-hint', class: 'hint' }, 'Optional; the name is used when empty.'),
    ),
    h(
      'fieldset',
      { class: 'field' },
      h('legend', {}, 'Roles'),
      roleBoxes.map(({ row }) => row),
      h('label', { for: 'new-other-roles' }, 'Other roles'),
      otherRoles,
      h('p', { id: 'new-other-roles-hint', class: 'hint' }, 'Optional, separated by commas.'),
    ),
    h(
      'div',
      { class: 'field check' },
      enabled,
      h('label', { for: 'new-enabled' }, 'Enabled'),
      h('span', { id: 'new-enabled-hint', class: 'hint' }, 'A disabled user’s token does not work.'),
    ),
    h('div', { class: 'actions' }, submit, h('a', { class: 'button', href: '#/users' }, 'Cancel')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    ctx.clearMessages();
    if (!form.reportValidity()) return;
    const name = nameInput.value.trim();
    const roles = [
      ...roleBoxes.filter(({ box }) => box.checked).map(({ role }) => role),
      ...otherRoles.value
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    ];
    const params = { name, roles: [...new Set(roles)], enabled: enabled.checked };
    if (fullInput.value.trim()) params.full_name = fullInput.value.trim();
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await ctx.api('user.create', params);
      ctx.navigate(userLink(name));
      ctx.announce(`User ${name} created.`);
    } catch (err) {
      ctx.fail(err);
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  fill(main, h('p', { class: 'crumbs' }, h('a', { href: '#/users' }, '← All users')), h('h1', { id: 'new-user-title' }, 'New user'), form);
  ctx.focusHeading('New user');
}
