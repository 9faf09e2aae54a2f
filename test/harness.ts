/**
 * Starts the real service (real HTTP, real database) on a free port with its
 * own database, and offers small helpers to call it. Every successful call
 * made through `call` is checked against the method's result schema.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { nanoid } from 'nanoid';
import { loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { startApp, type App } from '../src/app.js';
import { ADMINISTRATOR } from '../src/store/users.js';
import type { CallContext } from '../src/rpc/spec.js';
import { operator } from '../src/auth/verify.js';

/** Every log line of every service the tests start, and every secret they were shown. */
export const ALL_LOGS: string[] = [];
export const ISSUED_SECRETS = new Set<string>();

function remember(result: unknown): void {
  const secret = (result as { api_secret?: unknown } | null)?.api_secret;
  if (typeof secret === 'string') ISSUED_SECRETS.add(secret);
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export interface TestService {
  app: App;
  url: string;
  /** Every log line the service wrote. */
  logs: string[];
  adminToken: string;
  post(body: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** One JSON-RPC call; returns the whole reply. Results are checked against their schema. */
  call(method: string, params?: unknown, token?: string | null): Promise<Reply>;
  /** Creates a user and gives it a token. */
  userWithToken(name: string, roles?: string[], extra?: Record<string, unknown>): Promise<string>;
  /** Runs a method as Administrator without HTTP (the CLI's path). */
  asAdmin(method: string, params: unknown): Promise<any>;
  close(): Promise<void>;
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `token ${token}` };
}

export async function startService(overrides: Partial<Config> = {}): Promise<TestService> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const lines = String(chunk).split('\n').filter(Boolean);
      logs.push(...lines);
      ALL_LOGS.push(...lines);
      done();
    },
  });
  const config = { ...loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' }), dbName: `test_${nanoid(10).replace(/-/g, '_')}`,
    // Every test talks from 127.0.0.1; tests of the limits set their own.
    authFailureLimit: 10_000,
    ...overrides,
  };
  const app = await startApp(config, process.env.MONGODB_URI!, createLogger('debug', sink));

  const asAdmin = async (method: string, params: unknown): Promise<any> => {
    const admin = await app.services.storage.users.get(ADMINISTRATOR);
    const ctx: CallContext = {
      caller: operator(admin),
      requestId: 'test',
      address: 'test',
      log: createLogger('debug', sink),
      services: app.services,
    };
    const result = await app.dispatcher.invoke(method, params, ctx);
    remember(result);
    return result;
  };
  const tokenOf = (k: { api_key: string; api_secret: string }) => `${k.api_key}:${k.api_secret}`;
  const adminToken = tokenOf(await asAdmin('frappe.core.doctype.user.user.generate_keys', { user: ADMINISTRATOR }));

  const post = async (body: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const res = await fetch(`${app.url}/rpc`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, text, body: parsed };
  };

  const call = async (method: string, params?: unknown, token: string | null = adminToken) => {
    const request: Record<string, unknown> = { jsonrpc: '2.0', id: 1, method };
    if (params !== undefined) request.params = params;
    const reply = await post(request, token === null ? {} : bearer(token));
    remember(reply.body?.result);
    if (reply.body && 'result' in reply.body && app.dispatcher.has(method)) {
      const validate = app.dispatcher.schemas.validator(`${method}.result.json`);
      expect(validate(reply.body.result), `${method} result schema: ${JSON.stringify(validate.errors)}`).to.equal(true);
    }
    return reply;
  };

  return {
    app,
    url: app.url,
    logs,
    adminToken,
    post,
    call,
    asAdmin,
    async userWithToken(name, roles = [], extra = {}) {
      await asAdmin('user.create', { name, roles, ...extra });
      return tokenOf(await asAdmin('frappe.core.doctype.user.user.generate_keys', { user: name }));
    },
    async close() {
      await app.services.storage.db.dropDatabase();
      await app.close();
    },
  };
}

/** Asserts a JSON-RPC error reply with this code. */
export function expectError(reply: Reply, code: number, status = 200): any {
  expect(reply.status, reply.text).to.equal(status);
  expect(reply.body?.error?.code, reply.text).to.equal(code);
  return reply.body.error;
}

export function expectResult(reply: Reply): any {
  expect(reply.status, reply.text).to.equal(200);
  expect(reply.body, reply.text).to.have.property('result');
  return reply.body.result;
}
