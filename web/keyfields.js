// The inputs that Generate Keys and "Edit key" share: when the key expires,
// which methods it may call, where from (its IP allowlist), and (on a
// rotation) how long the old secret keeps working; its rate limits and
// credits are in limitfields.js. Each field reads itself into the param the
// service takes, says what is wrong next to itself in plain words, and takes
// the service's -32602 problems for its own path, and the refusals (-32003)
// that name it.

import { h, id, localTime } from './dom.js';
import { RpcError } from './rpc.js';

/** The service's scope grammar (src/auth/scopes.ts), checked here so a typo is told before anything changes. */
const SCOPE_PATTERN = /^(\*|[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(\.\*)?)$/;
const MAX_SCOPES = 100;
const MAX_SCOPE_LENGTH = 140;
const NOT_A_SCOPE = 'write a method’s name (auth.verify), a family of methods (user.*), or * for all';
/** What a key without scopes may call, in the words every part of the page uses. */
export const ANY_METHOD = 'any method the user’s roles allow';

/** [seconds, words]; 7 days is the service's default most (MAX_GRACE_SECONDS). */
const GRACE_CHOICES = [
  [0, 'None: it stops at once'],
  [300, '5 minutes'],
  [3600, '1 hour'],
  [86_400, '1 day'],
  [604_800, '7 days'],
];

/** 3600 → "1 hour"; the largest whole unit. */
export function duration(seconds) {
  for (const [size, unit] of [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ]) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

/** The reader's time zone, so "local time" says which. */
function zone() {
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '−' : '+';
  const abs = Math.abs(minutes);
  const offset = `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return name ? `${name}, ${offset}` : offset;
}

/** An ISO time as a datetime-local value (local time, to the minute). */
function toLocalInput(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function scopeWords(scopes) {
  return scopes.length ? scopes.join(', ') : ANY_METHOD;
}

/**
 * A labelled control with a hint and a place for its error. The error joins
 * the control's description only while shown, and is read before the hint.
 */
function field({ label, control, hint, after = null }) {
  const hintId = `${control.id}-hint`;
  const errorId = `${control.id}-error`;
  const hintEl = h('p', { id: hintId, class: 'hint' }, hint);
  const errorEl = h('p', { id: errorId, class: 'field-error', hidden: true });
  control.setAttribute('aria-describedby', hintId);
  return {
    el: h('div', { class: 'field' }, h('label', { for: control.id }, label), control, errorEl, after, hintEl),
    control,
    /** Shows `text` next to the field, or clears it when empty. */
    error(text) {
      errorEl.textContent = text ?? '';
      errorEl.hidden = !text;
      if (text) {
        control.setAttribute('aria-invalid', 'true');
        control.setAttribute('aria-describedby', `${errorId} ${hintId}`);
      } else {
        control.removeAttribute('aria-invalid');
        control.setAttribute('aria-describedby', hintId);
      }
    },
  };
}

/**
 * "Expires". mode: 'first' (no key yet: empty is never), 'rotate' (empty
 * keeps the current expiry, unless it has passed), 'edit' (shows the current
 * expiry; unchanged is left out). `known` false: the key could not be read,
 * so the hint does not guess at what it holds. read() → {value} (undefined: leave the
 * param out; null: never) or {error}.
 */
export function expiryField({ mode, current = null, expired = false, known = true }) {
  const input = h('input', { id: id('expires'), type: 'datetime-local', name: 'expires_at', step: '60', class: 'when' });
  const initial = mode === 'edit' && current ? toLocalInput(current) : '';
  input.value = initial;
  let never = null;
  let after = null;
  if (mode !== 'first') {
    never = h('input', { type: 'checkbox', id: id('never'), name: 'never', checked: mode === 'edit' && current === null });
    input.disabled = never.checked;
    never.addEventListener('change', () => {
      input.disabled = never.checked;
      f.error('');
      if (!never.checked) input.focus();
    });
    after = h('div', { class: 'check' }, never, h('label', { for: never.id }, 'Never expires'));
  }
  const local = `In your local time (${zone()}).`;
  const was = current ? localTime(current) : '';
  let hint;
  if (mode === 'first') hint = `Optional. ${local} Empty: the key never expires.`;
  else if (mode === 'rotate' && expired) hint = `Required: the key expired on ${was}. Choose a new time, or Never expires. ${local}`;
  else if (mode === 'rotate') hint = `Optional. ${local} Empty: the current expiry stays${known ? ` (${current ? was : 'never'})` : ''}.`;
  else hint = expired ? `${local} The key expired on ${was}: a new time, or Never expires, makes it work again with the same secret.` : local;
  const f = field({ label: 'Expires', control: input, hint, after });

  f.read = () => {
    if (never?.checked) return { value: mode === 'edit' && current === null ? undefined : null };
    const value = input.value.trim();
    if (!value) {
      if (mode === 'first') return { value: undefined };
      if (mode === 'rotate' && !expired) return { value: undefined };
      if (mode === 'rotate') return { error: `The key expired on ${was}: choose a new time, or Never expires.` };
      return { error: 'Choose a time, or Never expires.' };
    }
    if (mode === 'edit' && value === initial) return { value: undefined };
    // A datetime-local value has no zone: Date reads it as local time.
    const when = new Date(value);
    if (Number.isNaN(when.getTime())) return { error: 'Write a whole date and time, such as 2030-12-31 17:00.' };
    return { value: when.toISOString() };
  };
  f.plain = (message) => {
    const lapsed = /^the key expired at (\S+): /.exec(message);
    if (lapsed) return `The key expired on ${localTime(lapsed[1])}: choose a new time, or Never expires.`;
    return `Expires ${message}.`;
  };
  f.claims = (message) => message.startsWith('expires_at ');
  return f;
}

/** Scope patterns from text: one a line or separated by commas; repeats dropped. */
function parseScopes(text) {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/**
 * "Scopes". mode as for expiryField: on 'first' and 'rotate' empty leaves the
 * param out (none yet / the current ones stay); on 'edit' the field shows the
 * current scopes, and empty means "no limit" (sent as []).
 */
export function scopesField({ mode, current = [], known = true }) {
  const input = h('textarea', {
    id: id('scopes'),
    name: 'scopes',
    rows: '3',
    spellcheck: 'false',
    autocapitalize: 'off',
    autocomplete: 'off',
    class: 'scopes',
  });
  if (mode === 'edit') input.value = current.join('\n');
  const what = 'Method-name patterns, one a line or separated by commas, such as user.* or auth.verify.';
  const hint =
    mode === 'first'
      ? `Optional. ${what} Empty: ${ANY_METHOD}.`
      : mode === 'rotate'
        ? `Optional. ${what} Empty: the current scopes stay${known ? ` (${scopeWords(current)})` : ''}.`
        : `${what} Empty: ${ANY_METHOD}.`;
  const f = field({ label: 'Scopes', control: input, hint });
  let sent = [];

  f.read = () => {
    const scopes = parseScopes(input.value);
    const bad = scopes.filter((s) => s.length > MAX_SCOPE_LENGTH || !SCOPE_PATTERN.test(s));
    if (bad.length === 1) return { error: `“${bad[0]}” is not a method-name pattern: ${NOT_A_SCOPE}.` };
    if (bad.length > 1) return { error: `${bad.map((s) => `“${s}”`).join(', ')} are not method-name patterns: ${NOT_A_SCOPE}.` };
    if (scopes.length > MAX_SCOPES) return { error: `At most ${MAX_SCOPES} scopes; this has ${scopes.length}.` };
    sent = scopes;
    if (mode !== 'edit') return { value: scopes.length ? scopes : undefined };
    const same = scopes.length === current.length && scopes.every((s) => current.includes(s));
    return { value: same ? undefined : scopes };
  };
  f.plain = (message, path) => {
    const item = sent[Number(path.split('/')[2])];
    if (item !== undefined) return /pattern/.test(message) ? `“${item}” is not a method-name pattern: ${NOT_A_SCOPE}.` : `“${item}” ${message}.`;
    return `Scopes ${message}.`;
  };
  f.claims = (message) => message.startsWith('scopes ');
  return f;
}

/** The service's bounds on an ip_allowlist (schemas/common.json ipAllowlist). */
const MAX_RANGES = 100;
const MAX_RANGE_LENGTH = 64;
/** Characters an address or range can hold; the service checks the rest, and its words are shown by the field. */
const RANGE_CHARS = /^[0-9A-Fa-f:.]+(\/[0-9]+)?$/;
const NOT_A_RANGE = 'write an address (203.0.113.7, 2001:db8::1) or a CIDR range (10.0.0.0/8, 2001:db8::/32)';
/** Where a key without an ip_allowlist works, in the words every part of the page uses. */
export const ANYWHERE = 'anywhere';

export function allowlistWords(list) {
  return list.length ? list.join(', ') : ANYWHERE;
}

/**
 * "IP allowlist". mode as for scopesField: on 'first' and 'rotate' empty
 * leaves the param out (anywhere / the current list stays); on 'edit' the
 * field shows the current list, and empty means anywhere (sent as []).
 */
export function allowlistField({ mode, current = [], known = true }) {
  const input = h('textarea', {
    id: id('ip-allowlist'),
    name: 'ip_allowlist',
    rows: '2',
    spellcheck: 'false',
    autocapitalize: 'off',
    autocomplete: 'off',
    class: 'scopes',
  });
  if (mode === 'edit') input.value = current.join('\n');
  const what = 'Addresses and CIDR ranges the token may be used from, one a line or separated by commas, such as 10.0.0.0/8 or 2001:db8::/32.';
  const hint =
    mode === 'first'
      ? `Optional. ${what} Empty: ${ANYWHERE}.`
      : mode === 'rotate'
        ? `Optional. ${what} Empty: the current list stays${known ? ` (${allowlistWords(current)})` : ''}.`
        : `${what} Empty: ${ANYWHERE}.`;
  const f = field({ label: 'IP allowlist', control: input, hint });
  let sent = [];

  f.read = () => {
    const ranges = parseScopes(input.value);
    const bad = ranges.filter((r) => r.length > MAX_RANGE_LENGTH || !RANGE_CHARS.test(r));
    if (bad.length > 0) return { error: `${bad.map((r) => `“${r}”`).join(', ')}: ${NOT_A_RANGE}.` };
    if (ranges.length > MAX_RANGES) return { error: `At most ${MAX_RANGES} entries; this has ${ranges.length}.` };
    sent = ranges;
    if (mode !== 'edit') return { value: ranges.length ? ranges : undefined };
    const same = ranges.length === current.length && ranges.every((r) => current.includes(r));
    return { value: same ? undefined : ranges };
  };
  // The service names the entry and says what is wrong with it ("10.1.2.3/8" has bits set past its /8: ...).
  f.plain = (message, path) => {
    const item = sent[Number(path.split('/')[2])];
    if (item !== undefined) return `“${item}”${message.replace(/^"(?:[^"\\]|\\.)*"/, '')}.`;
    return `IP allowlist ${message}.`;
  };
  f.claims = (message) => message.startsWith('ip_allowlist ');
  return f;
}

/** "Keep the old secret working for": only on a rotation. */
export function graceField() {
  const select = h(
    'select',
    { id: id('grace'), name: 'grace_seconds' },
    GRACE_CHOICES.map(([seconds, words]) => h('option', { value: String(seconds) }, words)),
  );
  const f = field({
    label: 'Keep the old secret working for',
    control: select,
    hint: 'Programs still using the current secret keep working this long, so they can switch to the new one without downtime.',
  });
  f.read = () => {
    const seconds = Number(select.value);
    return { value: seconds > 0 ? seconds : undefined };
  };
  f.plain = (message) => {
    const most = /must be at most (\d+)/.exec(message);
    if (most) return `This service keeps an old secret working for at most ${duration(Number(most[1]))}. Choose a shorter time.`;
    return `Keep the old secret working for: ${message}.`;
  };
  return f;
}

/**
 * Reads fields ({param: field|null}) into params. On a problem, shows each
 * next to its field, focuses the first and returns null.
 */
export function readFields(fields) {
  const params = {};
  let first = null;
  for (const [name, f] of Object.entries(fields)) {
    if (!f) continue;
    const { value, error } = f.read();
    f.error(error);
    if (error) first ??= f;
    else if (value !== undefined) params[name] = value;
  }
  if (first) {
    first.control.focus();
    return null;
  }
  return params;
}

/**
 * Puts a -32602 answer's problems ([{path, message}]) next to the fields
 * they name, in plain words, and focuses the first; or a refusal (-32003)
 * next to the field it is about. False when the error is something else or
 * names a path no field shows: then the caller says it.
 */
export function showProblems(err, fields) {
  if (err instanceof RpcError && err.code === -32003) return showRefusal(err, fields);
  if (!(err instanceof RpcError) || err.code !== -32602 || !Array.isArray(err.data) || err.data.length === 0) return false;
  const placed = err.data.map((p) => {
    const path = String(p?.path ?? '');
    const f = fields[path.split('/')[1]];
    return f ? { f, text: f.plain(String(p.message ?? 'is not valid'), path) } : null;
  });
  if (placed.some((p) => p === null)) return false;
  // ajv can name one path twice (a oneOf): the first words are enough.
  const seen = new Set();
  for (const { f, text } of placed) {
    if (seen.has(f)) continue;
    seen.add(f);
    f.error(text);
  }
  placed[0].f.control.focus();
  return true;
}

/**
 * A refusal because the key would do more than the signed-in token itself
 * (src/auth/containment.ts, limit-containment.ts: "scopes [...] are wider than
 * this token's scopes ..."), by the field it names. The page's token is the
 * reader's own, so "this token" becomes "your token".
 */
function showRefusal(err, fields) {
  const said = err.said;
  const f = Object.values(fields).find((field) => field?.claims?.(said));
  if (!f) return false;
  f.target = null;
  f.error(`Not allowed: ${said.replace(/this token/g, 'your token')}.`);
  f.control.focus();
  return true;
}
