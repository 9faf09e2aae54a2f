#!/usr/bin/env node
/**
 * The command line. `execute` is Frappe's `bench execute`: it runs a method
 * from the method table as Administrator, straight against the database;
 * whoever can run it already holds the database, so no token is asked.
 * `call` is the same over the wire: a JSON-RPC request to a running service
 * with a token, for tooling on other machines.
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.js';
import { createLogger } from './log.js';
import { createDispatcher, openServices } from './app.js';
import { methodTable } from './methods/index.js';
import { useLocalDatabase, type LocalDatabase } from './localdb/index.js';
import { ADMINISTRATOR } from './store/users.js';
import { AppError, ERRORS, toAppError, type RpcError } from './errors.js';
import { operator } from './auth/verify.js';
import { reportLeak } from './methods/leaks.js';
import type { Services } from './rpc/spec.js';
import type { Logger } from './log.js';

const TOKEN_ENV = 'TOKENAUTH_TOKEN';
const DEFAULT_TIMEOUT_S = 30;
/** The one method whose result is a token; --print-token prints it as api_key:api_secret. */
const GENERATE_KEYS = 'frappe.core.doctype.user.user.generate_keys';

const HELP = `Usage:
  tokenauth execute <method> [--args JSON-array] [--kwargs JSON-object] [--print-token]
  tokenauth call <method> --url URL [--token KEY:SECRET] [--args JSON-array | --kwargs JSON-object]
                 [--timeout SECONDS] [--print-token]
  tokenauth report-leak <token> [--url WHERE-FOUND]
  tokenauth --help

execute   Run a method as ${ADMINISTRATOR}, directly against the database, and print
          its JSON result on stdout. Errors go to stderr with a non-zero exit.
          --args    positional params, in the order the method's schema declares
          --kwargs  named params
          --print-token  with ${GENERATE_KEYS}: print only the new token,
                    api_key:api_secret, for TOKEN=$(...)

call      Call a method of a running service over JSON-RPC, as the token's user, and
          print its JSON result on stdout. Errors go to stderr as "Error <code>: <message>"
          with exit 1; bad usage exits 2.
          --url      the service's address: POSTs to URL/rpc, or to URL itself if its
                     path already ends in /rpc
          --token    api_key:api_secret. Better: set ${TOKEN_ENV} instead, so the secret
                     stays out of the process list and the shell history
          --args     positional params (sent as a JSON-RPC params array)
          --kwargs   named params (sent as a params object); one of the two, not both
          --timeout  seconds to wait for the reply (default ${DEFAULT_TIMEOUT_S})
          --print-token  as for execute

report-leak
          A secret was found where it must not be (a bare tas_... secret, or
          api_key:api_secret): apply the leak policy (LEAK_POLICY: revoke the key pair,
          or let the secret expire after LEAK_GRACE_SECONDS), audited as key.leaked with
          --url, where it was found. Prints what happened: the label (true_positive: a
          secret of ours), what was ended (revoked, expires, or null: nothing was live),
          and whose key it was. Runs against the database, as execute does.

Examples:
  tokenauth execute frappe.core.doctype.user.user.generate_keys --args '["Administrator"]'
  TOKEN=$(tokenauth execute ${GENERATE_KEYS} --args '["Administrator"]' --print-token)
  tokenauth execute user.create --kwargs '{"name": "svc@example.com", "roles": ["Token Verifier"]}'
  tokenauth execute user.list
  read -rs ${TOKEN_ENV} && export ${TOKEN_ENV}   # paste api_key:api_secret
  tokenauth call user.get --url https://auth.example.com --args '["svc@example.com"]'
  tokenauth call rpc.discover --url http://127.0.0.1:8000

Database (execute): MONGODB_URI if set; otherwise the same local database as "npm start"
(the running one if the service is up, else started just for this command).`;

function parseJson(flag: string, text: string | undefined, shape: 'array' | 'object'): unknown {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${flag} is not valid JSON`);
  }
  const ok = shape === 'array' ? Array.isArray(value) : value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!ok) throw new UsageError(`${flag} must be a JSON ${shape}`);
  return value;
}

class UsageError extends Error {}

/** A JSON-RPC error the service answered; printed like the errors of `execute`. */
class RemoteError extends Error {
  constructor(readonly error: RpcError) {
    super(error.message);
  }
}

/** The service could not be asked, or did not answer in JSON-RPC. */
class TransportError extends Error {}

/** Runs `work` against the database (MONGODB_URI, or the local one), closing it after. */
async function withServices<T>(work: (services: Services, log: Logger) => Promise<T>): Promise<T> {
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const log = createLogger(config.logLevel, process.stderr);
  let local: LocalDatabase | undefined;
  const uri = config.mongodbUri ?? (local = await useLocalDatabase({ dataDir: config.dataDir, advertise: false, progress: (l) => console.error(l) })).uri;
  const services = await openServices(config, uri);
  try {
    return await work(services, log);
  } finally {
    await services.storage.close();
    await local?.stop();
  }
}

async function execute(method: string, args: unknown, kwargs: unknown): Promise<unknown> {
  if (!methodTable.some((m) => m.name === method)) throw new AppError('method_not_found', `Method not found: ${method}`);
  return withServices(async (services, log) => {
    const dispatcher = createDispatcher({ metrics: services.metrics, log });
    const admin = await services.storage.users.get(ADMINISTRATOR);
    const caller = operator(admin);
    const params = dispatcher.toNamed(method, args, kwargs);
    return await dispatcher.invoke(method, params, {
      caller,
      requestId: `cli-${process.pid}`,
      address: 'cli',
      door: 'cli',
      log: log.child({ door: 'cli' }),
      services,
    });
  });
}

/** The operator's leak report: what happened, in full (the operator holds the database anyway). */
function reportLeakHere(token: string, url: string | undefined): Promise<unknown> {
  return withServices(async (services, log) => {
    const by = { actor: ADMINISTRATOR, via: 'cli' as const, address: 'cli', requestId: `cli-${process.pid}`, log: log.child({ door: 'cli' }) };
    const { named: _named, ...outcome } = await reportLeak(services, { token, url }, by);
    return { ...outcome, policy: services.leaks.policy };
  });
}

/**
 * Where `call` POSTs: the URL as given when its path already ends in /rpc,
 * else URL/rpc; so both the service's base address and the endpoint work,
 * also behind a proxy that adds a path prefix.
 */
function rpcEndpoint(url: string): URL {
  let endpoint: URL;
  try {
    endpoint = new URL(url);
  } catch {
    throw new UsageError('--url is not a URL (example: http://127.0.0.1:8000)');
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new UsageError('--url must be http:// or https://');
  const path = endpoint.pathname.replace(/\/+$/, '');
  endpoint.pathname = path.endsWith('/rpc') ? path : `${path}/rpc`;
  return endpoint;
}

/** A URL fit for a message: no user:password, no query. */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Why fetch failed, in the system's words (ECONNREFUSED, ENOTFOUND, a timeout). */
function reason(err: unknown): string {
  if ((err as Error | null)?.name === 'TimeoutError') return 'no reply in time';
  const cause = (err as { cause?: { message?: string; code?: string; errors?: Error[] } }).cause;
  // Several addresses (localhost: ::1 and 127.0.0.1) fail as one AggregateError with no message.
  return cause?.errors?.[0]?.message || cause?.message || cause?.code || (err as Error).message;
}

interface CallRequest {
  url: string;
  token: string;
  method: string;
  params: unknown;
  timeoutMs: number;
}

async function call({ url, token, method, params, timeoutMs }: CallRequest): Promise<unknown> {
  const endpoint = rpcEndpoint(url);
  const request: Record<string, unknown> = { jsonrpc: '2.0', id: 1, method };
  if (params !== undefined) request.params = params;
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: `token ${token}` },
      body: JSON.stringify(request),
      // A redirect would resend the token somewhere the user did not name.
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new TransportError(`cannot reach ${shown(endpoint)}: ${reason(err)}`);
  }
  let reply: { result?: unknown; error?: RpcError } | undefined;
  try {
    reply = JSON.parse(await res.text()) as typeof reply;
  } catch {
    reply = undefined;
  }
  if (reply?.error && typeof reply.error.code === 'number') {
    const retry = res.headers.get('retry-after');
    throw new RemoteError(retry ? { ...reply.error, message: `${reply.error.message} (retry after ${retry} s)` } : reply.error);
  }
  if (reply && typeof reply === 'object' && 'result' in reply) return reply.result;
  throw new TransportError(`${shown(endpoint)} answered HTTP ${res.status} without a JSON-RPC reply: is it a tokenauth service?`);
}

function callRequest(method: string, values: Record<string, string | boolean | undefined>): CallRequest {
  const url = values.url as string | undefined;
  if (!url) throw new UsageError('call needs --url');
  const token = (values.token as string | undefined) ?? process.env[TOKEN_ENV];
  if (!token) throw new UsageError(`call needs a token: set ${TOKEN_ENV}, or give --token KEY:SECRET`);
  // Checked here for a clear message; never echoed.
  if (!/^[^:\s]+:[^:\s]+$/.test(token)) throw new UsageError('the token must be api_key:api_secret');
  if (values.args !== undefined && values.kwargs !== undefined) {
    // JSON-RPC params are an array or an object; which name a position takes is the service's business.
    throw new UsageError('call takes --args or --kwargs, not both');
  }
  const timeout = values.timeout === undefined ? DEFAULT_TIMEOUT_S : Number(values.timeout);
  if (!(timeout > 0 && timeout <= 3600)) throw new UsageError('--timeout must be a number of seconds, up to 3600');
  return {
    url,
    token,
    method,
    params: parseJson('--args', values.args as string | undefined, 'array') ?? parseJson('--kwargs', values.kwargs as string | undefined, 'object'),
    timeoutMs: timeout * 1000,
  };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      args: { type: 'string' },
      kwargs: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      timeout: { type: 'string' },
      'print-token': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const [command, method, ...rest] = positionals;
  if (command === 'report-leak') {
    if (!method) throw new UsageError('report-leak needs the token, as it was found');
    if (rest.length > 0) throw new UsageError('report-leak takes one token');
    const stray = ['args', 'kwargs', 'token', 'timeout', 'print-token'].filter((f) => values[f as keyof typeof values] !== undefined);
    if (stray.length > 0) throw new UsageError(`report-leak takes only --url (not --${stray[0]})`);
    console.log(JSON.stringify(await reportLeakHere(method, values.url), null, 2));
    return 0;
  }
  // Only the command word is echoed: a stray argument could be a secret.
  if (command !== 'execute' && command !== 'call') throw new UsageError(`unknown command: ${command}`);
  if (!method) throw new UsageError(`${command} needs a method name`);
  if (rest.length > 0) throw new UsageError(`${command} takes one method name; put params in --args or --kwargs`);
  // Checked before anything runs: a rotation must not happen only to be refused afterwards.
  if (values['print-token'] && method !== GENERATE_KEYS) throw new UsageError(`--print-token goes with ${GENERATE_KEYS}, whose result is a token`);
  let result: unknown;
  if (command === 'call') {
    result = await call(callRequest(method, values));
  } else {
    if (values.url !== undefined || values.token !== undefined || values.timeout !== undefined) {
      // Refused rather than ignored: the user meant a remote service, not the local database.
      throw new UsageError('--url, --token and --timeout belong to call; execute runs against the database');
    }
    result = await execute(method, parseJson('--args', values.args, 'array'), parseJson('--kwargs', values.kwargs, 'object'));
  }
  if (values['print-token']) {
    const { api_key: key, api_secret: secret } = (result ?? {}) as { api_key?: unknown; api_secret?: unknown };
    if (typeof key !== 'string' || typeof secret !== 'string') throw new TransportError(`${GENERATE_KEYS} answered without api_key and api_secret`);
    console.log(`${key}:${secret}`);
    return 0;
  }
  console.log(JSON.stringify(result, null, 2));
  return 0;
}

function printRpcError(error: RpcError): void {
  const data = error.data === undefined ? '' : `\n${JSON.stringify(error.data, null, 2)}`;
  console.error(`Error ${error.code}: ${error.message}${data}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`tokenauth: ${(err as Error).message}\n\n${HELP}`);
      process.exit(2);
    }
    if (err instanceof ConfigError) {
      console.error(`tokenauth: invalid configuration: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof RemoteError) {
      printRpcError(err.error);
      process.exit(1);
    }
    if (err instanceof TransportError) {
      console.error(`tokenauth: ${err.message}`);
      process.exit(1);
    }
    const appErr = toAppError(err);
    if (appErr.kind === 'internal') console.error(err);
    printRpcError({ code: ERRORS[appErr.kind].rpc, message: appErr.message, data: appErr.data });
    process.exit(1);
  },
);
