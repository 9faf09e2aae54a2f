/**
 * A bounded mixed load against a running service, then a check that nothing
 * was lost. Used by `npm run soak` and, briefly, by the test suite.
 *
 * Each worker owns its own users, so every expectation is exact: a call with
 * a user's latest secret, or with the one before it while a rotation's grace
 * period lasts, must succeed; a call with a replaced secret or for a revoked
 * (key revoked, user disabled or deleted) user must fail with 401; and
 * nothing may answer 5xx. Bad tokens come from random other loopback addresses, as a
 * crowd of clients' would, so they meet the failure limits without tripping
 * them for the honest traffic on 127.0.0.1.
 */
import http from 'node:http';
import { newApiKey, newApiSecret } from '../src/auth/token.js';
import type { ResultOf } from '../src/rpc/spec.js';

export interface SoakOptions {
  url: string;
  adminToken: string;
  durationMs: number;
  workers?: number;
  usersPerWorker?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  durationMs: number;
  requests: number;
  byKind: Record<string, number>;
  status: Record<string, number>;
  server5xx: number;
  violations: string[];
  finalCheck: { live: number; revoked: number; failed: number };
}

interface Reply {
  status: number;
  /** The body as JSON; its text when it is not JSON; undefined when empty. */
  body: unknown;
}

/** The result and error members of a JSON-RPC reply's body; neither for a body that is not an object. */
function members(body: unknown): { result?: unknown; error?: unknown } {
  return typeof body === 'object' && body !== null ? body : {};
}

type Keys = ResultOf<'frappe.core.doctype.user.user.generate_keys'>;

interface User {
  name: string;
  token: string;
  oldTokens: string[];
  /** The secret before the last rotation, when that rotation gave it a grace period. */
  graceToken: string | null;
  revoked: boolean;
}

const GRACE_SECONDS = 3600; // longer than any soak, so the grace secret must work to the end

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** From 127.0.0.1 on kept-alive connections, or from `from` on a fresh one. */
function post(base: string, payload: unknown, token: string | null, from?: string): Promise<Reply> {
  const url = new URL('/rpc', base);
  const agent = from ? false : keepAlive;
  const text = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        ...(from ? { localAddress: from } : {}),
        timeout: 30_000,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `token ${token}` } : {}) },
      },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => {
          let body: unknown;
          try {
            body = data ? JSON.parse(data) : undefined;
          } catch {
            body = data;
          }
          resolve({ status: res.statusCode!, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(text);
  });
}

/** A random loopback address other than 127.0.0.1: failures expected by the soak come from "other clients". */
const elsewhere = () => `127.0.${1 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;

let nextId = 1;
const call = (method: string, params?: unknown) => ({ jsonrpc: '2.0', id: nextId++, method, params });

export async function soak(opts: SoakOptions): Promise<SoakReport> {
  const workers = opts.workers ?? 8;
  const perWorker = opts.usersPerWorker ?? 4;
  const log = opts.log ?? (() => {});
  const report: SoakReport = {
    durationMs: opts.durationMs,
    requests: 0,
    byKind: {},
    status: {},
    server5xx: 0,
    violations: [],
    finalCheck: { live: 0, revoked: 0, failed: 0 },
  };
  const run = `soak${Date.now().toString(36)}`;

  const send = async (kind: string, payload: unknown, token: string | null, from?: string) => {
    const reply = await post(opts.url, payload, token, from);
    report.requests++;
    report.byKind[kind] = (report.byKind[kind] ?? 0) + 1;
    report.status[reply.status] = (report.status[reply.status] ?? 0) + 1;
    if (reply.status >= 500) {
      report.server5xx++;
      report.violations.push(`${kind}: HTTP ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply;
  };
  const violation = (what: string) => {
    if (report.violations.length < 50) report.violations.push(what);
  };
  const admin = async (kind: string, method: string, params: unknown) => {
    const reply = await send(kind, call(method, params), opts.adminToken);
    const { result, error } = members(reply.body);
    if (reply.status !== 200 || error) violation(`${kind}: ${JSON.stringify(reply.body)}`);
    return result;
  };
  const newUser = async (w: number, i: number): Promise<User> => {
    const name = `${run}-w${w}-u${i}`;
    await admin('create user', 'user.create', { name });
    const keys = (await admin('rotate', 'frappe.core.doctype.user.user.generate_keys', { user: name })) as Keys;
    return { name, token: `${keys.api_key}:${keys.api_secret}`, oldTokens: [], graceToken: null, revoked: false };
  };
  const expectOk = async (u: User, token = u.token, kind = 'valid call') => {
    const reply = await send(kind, call('frappe.auth.get_logged_user'), token);
    if (members(reply.body).result !== u.name) violation(`valid token of ${u.name} refused: ${reply.status} ${JSON.stringify(reply.body)}`);
  };
  // Refused: 401, or 429 should an address have gone over its failure limit.
  const refused = (status: number) => status === 401 || status === 429;
  const expectRefused = async (kind: string, token: string, who: string) => {
    const reply = await send(kind, call('frappe.auth.get_logged_user'), token, elsewhere());
    if (!refused(reply.status)) violation(`${kind} for ${who} not refused: ${reply.status} ${JSON.stringify(reply.body)}`);
  };

  const pools: User[][] = [];
  for (let w = 0; w < workers; w++) {
    pools.push(await Promise.all(Array.from({ length: perWorker }, (_, i) => newUser(w, i))));
  }
  log(`soak: ${workers} workers x ${perWorker} users, ${Math.round(opts.durationMs / 1000)}s`);

  const deadline = Date.now() + opts.durationMs;
  let made = 0;
  await Promise.all(
    pools.map(async (pool, w) => {
      while (Date.now() < deadline) {
        const live = pool.filter((u) => !u.revoked);
        const u = live[Math.floor(Math.random() * live.length)];
        const roll = Math.random();
        if (!u || roll < 0.03) {
          pool.push(await newUser(w, pool.length + made++));
        } else if (roll < 0.75) {
          await expectOk(u);
        } else if (roll < 0.85) {
          // A wrong secret for a real key, a made-up key with a valid checksum, or garbage.
          const roll2 = Math.random();
          const bad =
            roll2 < 0.4 ? `${u.token.split(':')[0]}:${newApiSecret()}` : roll2 < 0.7 ? `${newApiKey()}:${newApiSecret()}` : `nonsense-${Math.random()}`;
          const reply = await send('bad token', call('frappe.auth.get_logged_user'), bad, elsewhere());
          if (reply.status !== 401 && reply.status !== 429) violation(`bad token answered ${reply.status}`);
        } else if (roll < 0.93) {
          // Any rotation ends an earlier grace secret; a rotation with grace keeps the one it replaces.
          const grace = Math.random() < 0.3;
          const params = grace ? { user: u.name, grace_seconds: GRACE_SECONDS } : { user: u.name };
          const keys = (await admin(grace ? 'rotate with grace' : 'rotate', 'frappe.core.doctype.user.user.generate_keys', params)) as Keys;
          const replaced = u.token;
          const ended = [u.graceToken, grace ? null : replaced].filter((t): t is string => t !== null);
          u.oldTokens.push(...ended);
          u.graceToken = grace ? replaced : null;
          u.token = `${keys.api_key}:${keys.api_secret}`;
          if (keys.api_key !== replaced.split(':')[0]) violation(`api_key of ${u.name} changed on rotation`);
          if (grace) await expectOk(u, replaced, 'grace secret');
          for (const token of ended) await expectRefused('replaced secret', token, u.name);
        } else if (roll < 0.96) {
          // A valid token's identity has its user; an invalid one's answer has none.
          const verify = (await admin('verify other', 'auth.verify', { token: u.token })) as { user?: string } | undefined;
          if (verify?.user !== u.name) violation(`auth.verify of ${u.name}: ${JSON.stringify(verify)}`);
        } else {
          const how = Math.random();
          if (how < 0.33) await admin('revoke (disable)', 'user.update', { name: u.name, enabled: false });
          else if (how < 0.67) await admin('revoke (delete)', 'user.delete', { name: u.name });
          else await admin('revoke (key)', 'auth.keys.revoke', { user: u.name });
          u.revoked = true;
          if (u.graceToken) u.oldTokens.push(u.graceToken);
          u.graceToken = null;
          await expectRefused('revoked token', u.token, u.name);
        }
      }
    }),
  );

  // Nothing lost: every live user's latest secret works; every revoked one, and every replaced secret, fails.
  const finalCheck = async (u: User) => {
    if (u.revoked) {
      report.finalCheck.revoked++;
      const reply = await post(opts.url, call('frappe.auth.get_logged_user'), u.token, elsewhere());
      if (!refused(reply.status)) {
        report.finalCheck.failed++;
        violation(`revoked ${u.name} still answers ${reply.status}`);
      }
    } else {
      report.finalCheck.live++;
      for (const token of u.graceToken ? [u.token, u.graceToken] : [u.token]) {
        const reply = await post(opts.url, call('frappe.auth.get_logged_user'), token);
        if (members(reply.body).result !== u.name) {
          report.finalCheck.failed++;
          violation(`live ${u.name} lost its key: ${reply.status}`);
        }
      }
    }
    for (const old of u.oldTokens.slice(-2)) {
      const reply = await post(opts.url, call('frappe.auth.get_logged_user'), old, elsewhere());
      if (!refused(reply.status)) {
        report.finalCheck.failed++;
        violation(`replaced secret of ${u.name} answers ${reply.status}`);
      }
    }
  };
  await Promise.all(
    pools.map(async (pool) => {
      for (const u of pool) await finalCheck(u);
    }),
  );
  return report;
}
