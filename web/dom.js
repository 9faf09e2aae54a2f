// Small DOM helpers. Text always goes in as text (never as HTML), so nothing
// a user or the service supplies can become markup or script.

/**
 * h('button', {type: 'button', onclick: fn, class: 'primary'}, 'Save')
 * Props starting with "on" are listeners; `true`/`false` set or drop a
 * boolean attribute; null/undefined are skipped. Children are nodes or text.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value') el.value = value;
    else if (name === 'checked') el.checked = Boolean(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An ISO date-time in the reader's locale and time zone, as words. */
export function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A <time> for an ISO date-time, shown in the reader's locale; "never" for null. */
export function time(iso, none = 'never') {
  if (!iso) return h('span', { class: 'muted' }, none);
  if (Number.isNaN(new Date(iso).getTime())) return document.createTextNode(String(iso));
  return h('time', { datetime: iso, title: iso }, localTime(iso));
}

/** A description list from [term, description] pairs. */
export function details(pairs, props = {}) {
  return h(
    'dl',
    { class: 'details', ...props },
    pairs.map(([term, desc]) => h('div', {}, h('dt', {}, term), h('dd', {}, desc))),
  );
}

let uid = 0;
/** A fresh id for label/aria wiring. */
export function id(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}
