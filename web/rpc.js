// JSON-RPC 2.0 to this page's own origin, and the signed-in token.
// The token lives in sessionStorage only (gone when the tab closes) and is
// sent as `Authorization: token <api_key>:<api_secret>`; nothing is logged.

import { localTime } from './dom.js';

const TOKEN_KEY = 'tokenauth.token';
const USER_KEY = 'tokenauth.user';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user() {
    return sessionStorage.getItem(USER_KEY);
  },
  save(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, user);
  },
  forget() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

/** A failed call, with a message fit to show as it is; `said` is the service's own message, for a field to place it. */
export class RpcError extends Error {
  constructor(message, { code = null, status = null, data = undefined, said = '' } = {}) {
    super(message);
    this.name = 'RpcError';
    this.code = code;
    this.status = status;
    this.data = data;
    this.said = said;
  }

  /** The token itself was refused: the page should sign out. */
  get unauthenticated() {
    return this.status === 401;
  }
}

export const BAD_TOKEN = 'That api_key and api_secret do not match an enabled user.';

let nextId = 1;

/**
 * Calls one method with named params. Resolves to the result; rejects with
 * an RpcError whose message is plain words. `token` defaults to the session's.
 */
export async function call(method, params = {}, token = session.token) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (token) headers.Authorization = `token ${token}`;
  let res;
  try {
    res = await fetch('/rpc', {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new RpcError('The service did not answer. Check that it is running and reachable, then try again.');
  }
  if (res.status === 401) throw new RpcError(BAD_TOKEN, { code: -32001, status: 401 });
  if (res.status === 429) throw await tooMany(res);
  let reply;
  try {
    reply = await res.json();
  } catch {
    throw new RpcError(`The service sent an unreadable answer (HTTP ${res.status}). Try again in a moment.`, { status: res.status });
  }
  if (reply && typeof reply === 'object' && 'result' in reply) return reply.result;
  const error = reply?.error ?? {};
  throw new RpcError(explain(error), {
    code: error.code ?? null,
    status: res.status,
    data: error.data,
    said: typeof error.message === 'string' ? error.message : '',
  });
}

/**
 * A 429, told by what it is about: the key's own rate limit or credits
 * (error.data names the limit, or holds credits: docs/limits.md), or else
 * too many failed sign-ins from this address.
 */
async function tooMany(res) {
  const seconds = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
  const wait = Number.isFinite(seconds) && seconds > 0 ? `${seconds} second${seconds === 1 ? '' : 's'}` : 'a while';
  const data = (await res.json().catch(() => null))?.error?.data ?? {};
  const options = { code: -32029, status: 429, data };
  if (typeof data.credits === 'number') {
    const left = data.credits === 0 ? 'Your key is out of credits.' : `Your key has ${data.credits} credits left, not enough for this.`;
    const when = data.refill_at ? `They are refilled on ${localTime(data.refill_at)}.` : 'It has no refill: a System Manager can give it more.';
    return new RpcError(`${left} ${when}`, options);
  }
  if (typeof data.name === 'string') {
    const limit = `${data.limit} call${data.limit === 1 ? '' : 's'} a window`;
    return new RpcError(`Your key is over its rate limit ${data.name} (${limit}). Wait ${wait} and try again.`, options);
  }
  return new RpcError(`Too many failed sign-in attempts from this address. Wait ${wait} and try again.`, options);
}

/** An error object from the service, in plain words. */
function explain({ code, message, data }) {
  const said = typeof message === 'string' ? message.trim().replace(/\.$/, '') : '';
  switch (code) {
    case -32602: {
      const details = Array.isArray(data)
        ? data.map((d) => `${String(d.path ?? '').replace(/^\//, '') || 'input'} ${d.message ?? 'is not valid'}`).join('; ')
        : '';
      return `The service refused the input${details ? `: ${details}` : ''}.`;
    }
    case -32003:
      return `Not allowed: ${said || 'your key lacks the role or scope for this'}.`;
    case -32004:
      return said && said !== 'Not found' ? `${said}.` : 'Not found.';
    case -32009:
      return said && said !== 'Already exists' ? `${said}.` : 'That already exists.';
    case -32050:
      return 'The database is not answering right now. Try again in a moment.';
    case -32601:
      return 'The service does not know this method; it may be an older version than this page.';
    case -32603:
      return 'The service failed unexpectedly. The details are in its log; try again, or ask whoever runs it.';
    default:
      return said ? `The service refused: ${said}.` : 'The service refused the request.';
  }
}
