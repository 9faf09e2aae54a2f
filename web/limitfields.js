// A key's rate limits and credits on Generate Keys and "Edit key"
// (docs/limits.md). Like the fields in keyfields.js, each reads itself into
// the param the service takes, says what is wrong next to itself in plain
// words, and takes the service's problems for its own path. Each is a group
// of inputs (a fieldset): its error sits under the legend and marks the one
// input it is about, which takes focus.

import { h, id } from './dom.js';

/** The service's bounds (schemas/common.json: rateLimit, ratelimits, refill, credits). */
const MAX_LIMITS = 10;
const LIMIT_NAME = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_CALLS = 1_000_000_000;
const MIN_WINDOW_MS = 100;
const MAX_WINDOW_MS = 31 * 86_400_000;
const MAX_CREDITS = 1_000_000_000_000;
const MIN_PERIOD_MS = 100;
const MAX_PERIOD_MS = 366 * 86_400_000;

/** [ms, one, many], largest first. */
const UNITS = [
  [86_400_000, 'day', 'days'],
  [3_600_000, 'hour', 'hours'],
  [60_000, 'minute', 'minutes'],
  [1000, 'second', 'seconds'],
  [1, 'millisecond', 'milliseconds'],
];

/** ms as [count, unit]: the largest unit it is a whole number of. */
function inUnits(ms) {
  const unit = UNITS.find(([size]) => ms % size === 0) ?? UNITS[UNITS.length - 1];
  return [ms / unit[0], unit];
}

/** 90_000 → "90 seconds"; 3_600_000 → "1 hour". */
export function span(ms) {
  const [n, [, one, many]] = inUnits(ms);
  return `${n} ${n === 1 ? one : many}`;
}

/** 3_600_000 → "hour", 300_000 → "5 minutes": after "per" or "every". */
function each(ms) {
  const [n, [, one]] = inUnits(ms);
  return n === 1 ? one : span(ms);
}

/** A count in the reader's locale: 10000 → "10,000". */
function count(n) {
  return Number(n).toLocaleString();
}

/** What a key without rate limits or credits has, in the words every part of the page uses. */
export const NO_RATELIMITS = 'none';
export const UNLIMITED = 'unlimited';

/** {name: burst, limit: 100, duration_ms: 1000} → "burst: 100 calls per second". */
export function rateLimitWords({ name, limit, duration_ms }) {
  return `${name}: ${count(limit)} call${limit === 1 ? '' : 's'} per ${each(duration_ms)}`;
}

export function ratelimitsWords(list) {
  return list.length ? list.map(rateLimitWords).join('; ') : NO_RATELIMITS;
}

/** "refilled to 10,000 every day at 00:00 UTC". */
function refillWords({ amount, interval }) {
  const when = interval === 'daily' ? 'every day at 00:00 UTC' : interval === 'monthly' ? 'on the 1st of every month at 00:00 UTC' : `every ${each(interval)}`;
  return `refilled to ${count(amount)} ${when}`;
}

/** A key's credits ({remaining, refill} or null) in words: "9,950 left, refilled to 10,000 every day at 00:00 UTC". */
export function creditsWords(credits) {
  if (!credits) return UNLIMITED;
  return `${count(credits.remaining)} left${credits.refill ? `, ${refillWords(credits.refill)}` : ''}`;
}

/** Text → a whole number ("10,000", "10 000" and "10_000" too); null when empty, NaN when it is no whole number. */
function wholeNumber(text) {
  const digits = text.trim().replace(/[\s,_]/g, '');
  if (digits === '') return null;
  return /^\d+$/.test(digits) ? Number(digits) : NaN;
}

function numberInput(prefix, name, value = '') {
  return h('input', { id: id(prefix), name, inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false', class: 'number', value });
}

/** A select of time units (its value: the unit in ms), set to `ms`'s unit. */
function unitSelect(label, ms) {
  const select = h(
    'select',
    { id: id('unit'), 'aria-label': label, class: 'unit' },
    UNITS.map(([size, , many]) => h('option', { value: String(size) }, many)),
  );
  select.value = String(ms);
  return select;
}

/**
 * A fieldset with a legend, a hint and one place for its error. `target` is
 * the input the error is about (null: the group as a whole); it is marked
 * invalid and described by the error, and takes focus.
 */
function group({ legend, hint, cls }) {
  const hintId = id('group-hint');
  const errorId = id('group-error');
  const errorEl = h('p', { id: errorId, class: 'field-error', hidden: true });
  const body = h('div', { class: 'group-body' });
  const el = h(
    'fieldset',
    { class: `field group ${cls}`, 'aria-describedby': hintId },
    h('legend', {}, legend),
    errorEl,
    body,
    h('p', { id: hintId, class: 'hint' }, hint),
  );
  let marked = null;
  return {
    el,
    body,
    target: null,
    /** Where focus goes on a problem. */
    get control() {
      return this.target ?? el.querySelector('input:not(:disabled), select, button');
    },
    error(text) {
      marked?.removeAttribute('aria-invalid');
      marked?.removeAttribute('aria-describedby');
      marked = null;
      errorEl.textContent = text ?? '';
      errorEl.hidden = !text;
      el.setAttribute('aria-describedby', text ? `${errorId} ${hintId}` : hintId);
      if (text && this.target) {
        marked = this.target;
        marked.setAttribute('aria-invalid', 'true');
        marked.setAttribute('aria-describedby', errorId);
      }
    },
  };
}

/** One rate limit's inputs, in a fieldset of its own ("Rate limit 2"). */
function limitRow(rule, remove) {
  const [n, [unitMs]] = rule ? inUnits(rule.duration_ms) : ['', [1000]];
  const name = h('input', {
    id: id('limit-name'),
    name: 'limit_name',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    value: rule?.name ?? '',
  });
  const calls = numberInput('limit-calls', 'limit_calls', rule ? String(rule.limit) : '');
  const size = numberInput('limit-window', 'limit_window', String(n));
  const unit = unitSelect('Window unit', unitMs);
  const legend = h('legend', {});
  const drop = h('button', { type: 'button', class: 'link remove', onclick: () => remove(row) }, 'Remove');
  const cell = (label, ...controls) =>
    h('div', {}, h('label', { for: controls[0].id }, label), controls.length > 1 ? h('div', { class: 'inline' }, controls) : controls[0]);
  const row = {
    el: h('fieldset', { class: 'limit' }, legend, cell('Name', name), cell('Calls', calls), cell('Window', size, unit), drop),
    name,
    calls,
    size,
    number(i) {
      legend.textContent = `Rate limit ${i + 1}`;
      drop.setAttribute('aria-label', `Remove rate limit ${i + 1}`);
    },
    /** {rule} | {empty: true} | {error, at}. */
    read(label) {
      const text = { name: name.value.trim(), calls: calls.value.trim(), size: size.value.trim() };
      if (!text.name && !text.calls && !text.size) return { empty: true };
      if (!text.name) return { error: `${label}: give it a name, such as burst or daily.`, at: name };
      if (!LIMIT_NAME.test(text.name)) return { error: `${label}: “${text.name}” is not a name: use up to 32 letters, digits, _ and -.`, at: name };
      const limit = wholeNumber(text.calls);
      if (limit === null) return { error: `${label}: write how many calls each window allows.`, at: calls };
      if (Number.isNaN(limit) || limit < 1 || limit > MAX_CALLS)
        return { error: `${label}: calls must be a whole number from 1 to ${count(MAX_CALLS)}.`, at: calls };
      const length = wholeNumber(text.size);
      if (length === null) return { error: `${label}: write how long its window is.`, at: size };
      const ms = length * Number(unit.value);
      if (Number.isNaN(ms) || ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) {
        return { error: `${label}: the window must be a whole number, from ${span(MIN_WINDOW_MS)} to ${span(MAX_WINDOW_MS)}.`, at: size };
      }
      return { rule: { name: text.name, limit, duration_ms: ms } };
    },
  };
  return row;
}

function sameRules(a, b) {
  return a.length === b.length && a.every((r, i) => r.name === b[i].name && r.limit === b[i].limit && r.duration_ms === b[i].duration_ms);
}

/**
 * "Rate limits": a list of {name, calls, window}, with Add and Remove. mode
 * as for scopesField: on 'first' and 'rotate' no limit leaves the param out
 * (none yet / the current ones stay); on 'edit' the list starts from the
 * key's, and emptied means none (sent as []). An unchanged list is not sent.
 */
export function ratelimitsField({ mode, current = [], known = true }) {
  const what = 'Each allows so many calls per window, counted on every door; windows start at multiples of their length since 1970-01-01 00:00 UTC.';
  const hint =
    mode === 'first'
      ? `Optional. ${what} None: no limit.`
      : mode === 'rotate'
        ? `Optional. ${what} None here: the current limits stay${known ? ` (${ratelimitsWords(current)})` : ''}.`
        : `${what} None: no limit.`;
  const f = group({ legend: 'Rate limits', hint, cls: 'ratelimits' });
  const list = h('div', { class: 'limits' });
  const add = h('button', { type: 'button', onclick: () => addRow(null).name.focus() }, 'Add a rate limit');
  f.body.append(list, add);
  let rows = [];
  /** The rows sent, by their index in the param, so the service's paths name the right one. */
  let sent = [];

  const renumber = () => {
    rows.forEach((r, i) => r.number(i));
    add.disabled = rows.length >= MAX_LIMITS;
  };
  const addRow = (rule) => {
    const row = limitRow(rule, (gone) => {
      const at = rows.indexOf(gone);
      rows = rows.filter((r) => r !== gone);
      gone.el.remove();
      renumber();
      (rows[at]?.name ?? add).focus();
    });
    rows.push(row);
    list.append(row.el);
    renumber();
    return row;
  };
  if (mode === 'edit') current.forEach(addRow);

  f.read = () => {
    f.target = null;
    const rules = [];
    sent = [];
    for (const [i, row] of rows.entries()) {
      const got = row.read(`Rate limit ${i + 1}`);
      if (got.empty) continue;
      if (got.error) {
        f.target = got.at;
        return { error: got.error };
      }
      const twin = rules.findIndex((r) => r.name === got.rule.name);
      if (twin >= 0) {
        f.target = row.name;
        return { error: `Rate limit ${i + 1}: rate limit ${rows.indexOf(sent[twin]) + 1} is named ${got.rule.name} too; each needs its own name.` };
      }
      rules.push(got.rule);
      sent.push(row);
    }
    if (mode !== 'edit') return { value: rules.length ? rules : undefined };
    return { value: sameRules(rules, current) ? undefined : rules };
  };
  // Paths such as /ratelimits/1/limit: the row, and the input, it is about.
  f.plain = (message, path) => {
    const [, , index, prop] = path.split('/');
    const row = sent[Number(index)];
    if (!row) return `Rate limits ${message}.`;
    f.target = prop === 'limit' ? row.calls : prop === 'duration_ms' ? row.size : row.name;
    const what = { name: 'the name', limit: 'calls', duration_ms: 'the window (in milliseconds)' }[prop];
    const words = message.startsWith('the ') || !what ? message : `${what} ${message}`;
    return `Rate limit ${rows.indexOf(row) + 1}: ${words}.`;
  };
  // The service's refusal when the signed-in token has rate limits the key would not keep to (src/auth/limit-containment.ts).
  f.claims = (message) => message.startsWith("the key's rate limits");
  return f;
}

/** The refill choices: [value, words]; 'period' asks for a length. */
const REFILLS = [
  ['', 'No refill'],
  ['daily', 'Every day, at 00:00 UTC'],
  ['monthly', 'Every month, on the 1st at 00:00 UTC'],
  ['period', 'Every…'],
];

function sameCredits(a, b) {
  if (a.remaining !== b.remaining) return false;
  const [x, y] = [a.refill ?? null, b.refill ?? null];
  return x === y || (x !== null && y !== null && x.amount === y.amount && x.interval === y.interval);
}

/**
 * "Credits": the balance, and an optional refill (daily, monthly or every
 * period) that sets it to an amount. mode as for expiryField: on 'first' and
 * 'rotate' empty leaves the param out (unlimited / the current credits
 * stay); on 'edit' the inputs start from the key's credits, emptied means
 * unlimited (sent as null), and unchanged they are not sent at all: giving
 * credits sets the balance, which the key's calls have moved on since the
 * page read it.
 */
export function creditsField({ mode, current = null, known = true }) {
  const start = mode === 'edit' ? current : null;
  const refill = start?.refill ?? null;
  const remaining = numberInput('credits', 'credits_remaining', start ? String(start.remaining) : '');
  const interval = h(
    'select',
    { id: id('refill'), name: 'refill_interval' },
    REFILLS.map(([value, words]) => h('option', { value }, words)),
  );
  interval.value = !refill ? '' : typeof refill.interval === 'number' ? 'period' : refill.interval;
  const amount = numberInput('refill-amount', 'refill_amount', refill ? String(refill.amount) : '');
  const [n, [unitMs]] = typeof refill?.interval === 'number' ? inUnits(refill.interval) : ['', [86_400_000]];
  const period = numberInput('refill-period', 'refill_period', String(n));
  const periodUnit = unitSelect('Refill period unit', unitMs);
  const sub = (label, ...controls) =>
    h('div', { class: 'sub' }, h('label', { for: controls[0].id }, label), controls.length > 1 ? h('div', { class: 'inline' }, controls) : controls[0]);
  const amountRow = sub('Refill to', amount);
  const periodRow = sub('Refill period', period, periodUnit);
  const showRefill = () => {
    amountRow.hidden = interval.value === '';
    periodRow.hidden = interval.value !== 'period';
  };
  interval.addEventListener('change', showRefill);
  showRefill();

  const what =
    'Each call spends one (a few methods more); at 0 the key is refused until its refill, which sets the balance to its amount (what was left does not carry over).';
  const hint =
    mode === 'first'
      ? `Optional. ${what} Empty: ${UNLIMITED}.`
      : mode === 'rotate'
        ? `Optional: given, it sets the balance. ${what} Empty: the credits stay${known ? ` (${creditsWords(current)})` : ''}.`
        : `${what} Shown: what is left, less what the service holds in hand for calls on the way. Changed, the balance is set to Credits left; unchanged, it is not touched. Empty: ${UNLIMITED}.`;
  const f = group({ legend: 'Credits', hint, cls: 'credits' });
  f.body.append(sub('Credits left', remaining), sub('Refill', interval), amountRow, periodRow);

  const fail = (at, error) => {
    f.target = at;
    return { error };
  };
  f.read = () => {
    f.target = null;
    const left = wholeNumber(remaining.value);
    if (left === null) {
      if (interval.value) return fail(remaining, 'Write the credits left: a refill needs a balance to start from. For unlimited credits, choose No refill.');
      return { value: mode === 'edit' && current ? null : undefined };
    }
    if (Number.isNaN(left) || left > MAX_CREDITS) return fail(remaining, `Credits left must be a whole number from 0 to ${count(MAX_CREDITS)}.`);
    const value = { remaining: left };
    if (interval.value) {
      const to = wholeNumber(amount.value);
      if (to === null) return fail(amount, 'Write the balance each refill sets.');
      if (Number.isNaN(to) || to < 1 || to > MAX_CREDITS) return fail(amount, `Refill to must be a whole number from 1 to ${count(MAX_CREDITS)}.`);
      let every = interval.value;
      if (every === 'period') {
        const length = wholeNumber(period.value);
        if (length === null) return fail(period, 'Write how often the credits refill.');
        every = length * Number(periodUnit.value);
        if (Number.isNaN(every) || every < MIN_PERIOD_MS || every > MAX_PERIOD_MS) {
          return fail(period, `The refill period must be a whole number, from ${span(MIN_PERIOD_MS)} to ${span(MAX_PERIOD_MS)}.`);
        }
      }
      value.refill = { amount: to, interval: every };
    }
    if (mode === 'edit' && current && sameCredits(value, current)) return { value: undefined };
    return { value };
  };
  f.plain = (message, path) => {
    const at = { '/credits/remaining': remaining, '/credits/refill/amount': amount, '/credits/refill/interval': period }[path] ?? null;
    f.target = at;
    const what = at === remaining ? 'Credits left' : at === amount ? 'Refill to' : at === period ? 'The refill period' : 'Credits';
    return `${what} ${message}.`;
  };
  // The service's refusals when the signed-in token has credits (src/auth/limit-containment.ts).
  f.claims = (message) => /credits/.test(message);
  return f;
}
