#!/usr/bin/env node
/**
 * The command line, like Frappe's `bench execute`: runs a method from the
 * method table as Administrator, straight against the database. Whoever can
 * run this already holds the database, so no token is asked.
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config.js';
import { createLogger } from './log.js';
import { createDispatcher, openServices } from './app.js';
import { useLocalDatabase, type LocalDatabase } from './localdb/index.js';
import { ADMINISTRATOR } from './store/users.js';
import { AppError, ERRORS, toAppError } from './errors.js';
import { operator } from './auth/verify.js';

const HELP = `Usage:
  tokenauth execute <method> [--args JSON-array] [--kwargs JSON-object]
  tokenauth --help

execute   Run a method as ${ADMINISTRATOR}, directly against the database, and print
          its JSON result on stdout. Errors go to stderr with a non-zero exit.
          --args    positional params, in the order the method's schema declares
          --kwargs  named params

Examples:
  tokenauth execute frappe.core.doctype.user.user.generate_keys --args '["Administrator"]'
  tokenauth execute user.create --kwargs '{"name": "svc@example.com", "roles": ["Token Verifier"]}'
  tokenauth execute user.list

Database: MONGODB_URI if set; otherwise the same local database as "npm start"
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

async function execute(method: string, args: unknown, kwargs: unknown): Promise<unknown> {
  const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env });
  const log = createLogger(config.logLevel, process.stderr);
  const dispatcher = createDispatcher();
  if (!dispatcher.has(method)) throw new AppError('method_not_found', `Method not found: ${method}`);

  let local: LocalDatabase | undefined;
  const uri =
    config.mongodbUri ??
    (local = await useLocalDatabase({ dataDir: config.dataDir, advertise: false, progress: (l) => console.error(l) })).uri;
  const services = await openServices(config, uri);
  try {
    const admin = await services.storage.users.get(ADMINISTRATOR);
    const caller = operator(admin);
    const params = dispatcher.toNamed(method, args, kwargs);
    return await dispatcher.invoke(method, params, {
      caller,
      requestId: `cli-${process.pid}`,
      address: 'cli',
      log: log.child({ door: 'cli' }),
      services,
    });
  } finally {
    await services.storage.close();
    await local?.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { args: { type: 'string' }, kwargs: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length === 0) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const [command, method, ...rest] = positionals;
  if (command !== 'execute' || !method || rest.length > 0) throw new UsageError(`unknown command: ${positionals.join(' ')}`);
  const result = await execute(
    method,
    parseJson('--args', values.args, 'array'),
    parseJson('--kwargs', values.kwargs, 'object'),
  );
  console.log(JSON.stringify(result, null, 2));
  return 0;
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
    const appErr = toAppError(err);
    if (appErr.kind === 'internal') console.error(err);
    const data = appErr.data === undefined ? '' : `\n${JSON.stringify(appErr.data, null, 2)}`;
    console.error(`Error ${ERRORS[appErr.kind].rpc}: ${appErr.message}${data}`);
    process.exit(1);
  },
);
