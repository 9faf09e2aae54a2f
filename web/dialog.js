// In-page dialogs built on <dialog>: showModal() traps focus and makes the
// rest of the page inert; each dialog is created for one use and removed from
// the DOM when it closes, and focus goes back to where it was.

import { h, id, time } from './dom.js';
import { ANY_METHOD, ANYWHERE } from './keyfields.js';
import { ratelimitsWords, creditsWords } from './limitfields.js';

/** Shows the dialog; resolves with its returnValue once it closes and is gone. */
function open(dialog) {
  // Read before the dialog takes focus, so focus can go back there.
  const returnTo = document.activeElement;
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      'close',
      () => {
        const value = dialog.returnValue;
        dialog.remove();
        if (returnTo instanceof HTMLElement && returnTo.isConnected) returnTo.focus();
        resolve(value);
      },
      { once: true },
    );
  });
}

/** The dialog confirmDialog and formDialog share: a title that names it, paragraphs that describe it, then `content`. */
function shell(title, body, ...content) {
  const titleId = id('dialog-title');
  const bodyId = id('dialog-body');
  return h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': bodyId },
    h('h2', { id: titleId }, title),
    h(
      'div',
      { id: bodyId },
      body.filter(Boolean).map((p) => h('p', {}, p)),
    ),
    ...content,
  );
}

/**
 * Asks before doing something that cannot be undone. Resolves true only when
 * the confirm button was pressed; Escape or Cancel resolve false. Focus
 * starts on Cancel, the harmless choice.
 */
export async function confirmDialog({ title, body, confirm, danger = false }) {
  const dialog = shell(
    title,
    body,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-action': 'confirm', onclick: () => dialog.close('confirm') }, confirm),
      h('button', { type: 'button', autofocus: true, 'data-action': 'cancel', onclick: () => dialog.close('cancel') }, 'Cancel'),
    ),
  );
  return (await open(dialog)) === 'confirm';
}

/**
 * A small form in a dialog. `submit()` runs on the confirm button (or Enter):
 * it returns {value} to close the dialog and resolve with value, or null to
 * stay open (it has shown what is wrong next to the fields); a thrown error
 * is told in plain words inside the dialog. Escape or Cancel resolve
 * undefined and change nothing. Focus starts on the first field.
 */
export async function formDialog({ title, body = [], fields, confirm, submit }) {
  const problem = h('p', { class: 'error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'primary', 'data-action': 'confirm' }, confirm);
  let busy = false;
  let result;
  const form = h(
    'form',
    { novalidate: true },
    fields,
    problem,
    h('div', { class: 'actions' }, save, h('button', { type: 'button', 'data-action': 'cancel', onclick: () => busy || dialog.close('cancel') }, 'Cancel')),
  );
  const dialog = shell(title, body, form);
  // While the service is asked, Escape waits: closing then would hide whether the change was made.
  // Stopped at keydown too: Chromium lets repeated Escapes close a dialog whose 'cancel' is prevented.
  dialog.addEventListener('cancel', (event) => {
    if (busy) event.preventDefault();
  });
  dialog.addEventListener('keydown', (event) => {
    if (busy && event.key === 'Escape') event.preventDefault();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    problem.hidden = true;
    busy = true;
    // aria-disabled, not disabled: disabling the focused button would drop focus out of the dialog.
    save.setAttribute('aria-disabled', 'true');
    form.setAttribute('aria-busy', 'true');
    try {
      const done = await submit();
      if (done) {
        result = done.value;
        dialog.close('confirm');
      }
    } catch (err) {
      // A refused token has already signed the page out: nothing left to do here.
      if (err?.unauthenticated) dialog.close('cancel');
      else {
        problem.textContent = err instanceof Error ? err.message : String(err);
        problem.hidden = false;
      }
    } finally {
      busy = false;
      save.removeAttribute('aria-disabled');
      form.removeAttribute('aria-busy');
    }
  });
  return (await open(dialog)) === 'confirm' ? result : undefined;
}

/**
 * Shows a new api_secret once. When the dialog closes, the text leaves the
 * DOM with it and this function drops its references; the secret is never
 * logged or stored.
 */
export async function secretDialog({
  user,
  apiKey,
  apiSecret,
  expiresAt = null,
  scopes = [],
  ipAllowlist = [],
  ratelimits = [],
  credits = null,
  previousValidUntil = null,
}) {
  const titleId = id('dialog-title');
  const warnId = id('dialog-warning');
  const secretEl = h('code', { id: 'new-secret', class: 'secret' }, apiSecret);
  const copied = h('p', { class: 'copied', role: 'status', 'aria-live': 'polite' });
  const copy = async () => {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(secretEl.textContent ?? '');
      copied.textContent = 'Copied to the clipboard.';
    } catch {
      // No clipboard (plain http on another host, or refused): select the text instead.
      const range = document.createRange();
      range.selectNodeContents(secretEl);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      copied.textContent = 'Copying is not allowed here: the secret is selected, press Ctrl+C (⌘C on a Mac) to copy it.';
    }
  };
  const forget = () => {
    secretEl.textContent = '';
    window.getSelection()?.removeAllRanges();
  };
  const done = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      'data-action': 'done',
      onclick: () => {
        forget();
        dialog.close('done');
      },
    },
    'I have copied it, close',
  );
  const dialog = h(
    'dialog',
    { class: 'dialog secret-dialog', 'aria-labelledby': titleId, 'aria-describedby': warnId },
    h('h2', { id: titleId }, `New API secret for ${user}`),
    h(
      'p',
      { id: warnId, class: 'warning' },
      h('strong', {}, 'This secret will not be shown again.'),
      ' Copy it now and keep it somewhere safe. The token is ',
      h('code', {}, 'api_key:api_secret'),
      '.',
    ),
    h(
      'dl',
      { class: 'details' },
      h('div', {}, h('dt', {}, 'api_key'), h('dd', {}, h('code', { id: 'new-key' }, apiKey))),
      h('div', {}, h('dt', {}, 'api_secret'), h('dd', {}, secretEl)),
      h('div', {}, h('dt', {}, 'Expires'), h('dd', { id: 'new-expires' }, time(expiresAt, 'never'))),
      h('div', {}, h('dt', {}, 'Scopes'), h('dd', { id: 'new-scopes' }, scopes.length ? scopes.map((s) => h('code', { class: 'scope' }, s)) : ANY_METHOD)),
      h(
        'div',
        {},
        h('dt', {}, 'IP allowlist'),
        h('dd', { id: 'new-ip-allowlist' }, ipAllowlist.length ? ipAllowlist.map((r) => h('code', { class: 'range' }, r)) : ANYWHERE),
      ),
      h('div', {}, h('dt', {}, 'Rate limits'), h('dd', { id: 'new-ratelimits' }, ratelimitsWords(ratelimits))),
      h('div', {}, h('dt', {}, 'Credits'), h('dd', { id: 'new-credits' }, creditsWords(credits))),
    ),
    // A rotation with grace: the programs still on the old secret have until then to switch.
    previousValidUntil
      ? h('p', { id: 'secret-grace' }, 'The old secret keeps working until ', time(previousValidUntil), '; after that only this new one does.')
      : null,
    h('div', { class: 'actions' }, h('button', { type: 'button', autofocus: true, 'data-action': 'copy', onclick: copy }, 'Copy secret'), done),
    copied,
  );
  // Escape would throw the secret away by accident: point at the close button instead.
  // Stopped at keydown as well as 'cancel': Chromium closes the dialog on the
  // third or fourth Escape in a row even when 'cancel' is prevented.
  const stay = (event) => {
    event.preventDefault();
    copied.textContent = 'To close, press “I have copied it, close”.';
    done.focus();
  };
  dialog.addEventListener('cancel', stay);
  dialog.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') stay(event);
  });
  await open(dialog);
  forget();
}
