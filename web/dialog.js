// In-page dialogs built on <dialog>: showModal() traps focus and makes the
// rest of the page inert; each dialog is created for one use and removed from
// the DOM when it closes, and focus goes back to where it was.

import { h, id } from './dom.js';

function open(dialog, returnTo) {
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

/**
 * Asks before doing something that cannot be undone. Resolves true only when
 * the confirm button was pressed; Escape or Cancel resolve false. Focus
 * starts on Cancel, the harmless choice.
 */
export async function confirmDialog({ title, body, confirm, danger = false }) {
  const returnTo = document.activeElement;
  const titleId = id('dialog-title');
  const bodyId = id('dialog-body');
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': bodyId },
    h('h2', { id: titleId }, title),
    h('div', { id: bodyId }, body.filter(Boolean).map((p) => h('p', {}, p))),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: danger ? 'danger' : 'primary', 'data-action': 'confirm', onclick: () => dialog.close('confirm') }, confirm),
      h('button', { type: 'button', autofocus: true, 'data-action': 'cancel', onclick: () => dialog.close('cancel') }, 'Cancel'),
    ),
  );
  return (await open(dialog, returnTo)) === 'confirm';
}

/**
 * Shows a new api_secret once. When the dialog closes, the text leaves the
 * DOM with it and this function drops its references; the secret is never
 * logged or stored.
 */
export async function secretDialog({ user, apiKey, apiSecret }) {
  const returnTo = document.activeElement;
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
  const done = h('button', { type: 'button', class: 'primary', 'data-action': 'done', onclick: () => { forget(); dialog.close('done'); } }, 'I have copied it, close');
  const dialog = h(
    'dialog',
    { class: 'dialog secret-dialog', 'aria-labelledby': titleId, 'aria-describedby': warnId },
    h('h2', { id: titleId }, `New API secret for ${user}`),
    h('p', { id: warnId, class: 'warning' }, h('strong', {}, 'This secret will not be shown again.'), ' Copy it now and keep it somewhere safe. The token is ', h('code', {}, 'api_key:api_secret'), '.'),
    h('dl', { class: 'details' },
      h('div', {}, h('dt', {}, 'api_key'), h('dd', {}, h('code', { id: 'new-key' }, apiKey))),
      h('div', {}, h('dt', {}, 'api_secret'), h('dd', {}, secretEl)),
    ),
    h('div', { class: 'actions' }, h('button', { type: 'button', autofocus: true, 'data-action': 'copy', onclick: copy }, 'Copy secret'), done),
    copied,
  );
  // Escape would throw the secret away unseen-by-accident: point at the close button instead.
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    copied.textContent = 'To close, press “I have copied it, close”.';
    done.focus();
  });
  await open(dialog, returnTo);
  forget();
}
