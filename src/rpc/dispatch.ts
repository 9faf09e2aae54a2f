/**
 * The one way any door calls a method: look it up in the table, check the
 * caller's roles, map positional params onto named ones, validate, run; and
 * count, time and log the call, labelled with the door it came in by (so the
 * CLI's calls are logged as the HTTP doors' are).
 */
import { performance } from 'node:perf_hooks';
import { AppError, invalidParams, invalidParam, type ErrorKind } from '../errors.js';
import { secretParam } from './secret-params.js';
import type { ValidateFunction } from 'ajv';
import type { CallContext, DoorName, MethodSpec } from './spec.js';
import { callLog, type CallLog } from './call-log.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import { describeErrors, resolveRef, type SchemaSet } from './schemas.js';
import { scopesAllow } from '../auth/scopes.js';

interface Entry {
  spec: MethodSpec;
  /** Property names in the schema's declared order, for positional params. */
  order: string[];
  validateParams: ValidateFunction;
  /** For a method that lists a page at a time: its page-size param, as its schema states it. */
  page?: Page;
  /** Its call log on each door, made on the door's first call. */
  logs: Partial<Record<DoorName, CallLog>>;
}

/** Where calls are counted and logged. */
export interface Observers {
  metrics: Metrics;
  log: Logger;
}

/** The param of a method that writes many documents at once (frappe.client.insert_many), and the most it takes. */
const DOCS_PARAM = 'docs';
const MAX_DOCS = 200;

/** The names a page size goes by: ours, and Frappe's get_list's. */
const PAGE_PARAMS = ['limit', 'limit_page_length'];

interface Page {
  name: string;
  /** Where it sits among positional params. */
  index: number;
  default: number;
  minimum: number;
  maximum: number;
}

export class Dispatcher {
  private readonly entries = new Map<string, Entry>();

  /** One logger per door, so each call's line names its door without a child logger per call. */
  private readonly doorLogs = new Map<DoorName, Logger>();

  constructor(
    table: readonly MethodSpec[],
    readonly schemas: SchemaSet,
    private readonly observers: Observers,
  ) {
    for (const spec of table) {
      if (this.entries.has(spec.name)) throw new Error(`method ${spec.name} declared twice`);
      const id = `${spec.name}.params.json`;
      const validateParams = schemas.validator(id);
      schemas.validator(`${spec.name}.result.json`); // must exist, for tests and discovery
      const order = Object.keys(schemas.raw.get(id)?.properties ?? {});
      this.entries.set(spec.name, { spec, order, validateParams, page: pageOf(schemas, id, order), logs: {} });
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The credits a call of `name` spends (its spec's cost; 1 for a name not in the table: the call is charged, then refused). */
  cost(name: unknown): number {
    return (typeof name === 'string' ? this.entries.get(name)?.spec.cost : undefined) ?? 1;
  }

  get methods(): MethodSpec[] {
    return [...this.entries.values()].map((e) => e.spec);
  }

  /**
   * Positional and named params in one object: `args` fill the schema's
   * properties in declared order, `kwargs` add to them (as `bench execute`).
   */
  toNamed(name: string, args: unknown, kwargs?: unknown): Record<string, unknown> {
    const entry = this.entry(name);
    const named: Record<string, unknown> = {};
    if (Array.isArray(args)) {
      if (args.length > entry.order.length) {
        throw invalidParams([{ path: '/', message: `takes at most ${entry.order.length} positional params` }]);
      }
      args.forEach((value: unknown, i) => {
        named[entry.order[i]!] = value;
      });
    } else if (args !== undefined && args !== null) {
      if (typeof args !== 'object') {
        throw invalidParam('/', 'must be an array or object');
      }
      Object.assign(named, args);
    }
    if (kwargs !== undefined) {
      for (const [k, v] of Object.entries(kwargs as object)) {
        if (k in named) {
          throw invalidParam(`/${k}`, 'given twice');
        }
        named[k] = v;
      }
    }
    return named;
  }

  /**
   * How many rows a call asks for, for a batch's budget: its page size
   * (`limit` or `limit_page_length`, or the schema's default when it gives
   * none; 0, where the schema allows it, is Frappe's "no limit": the
   * largest page). 0 for a method that lists nothing, and for a page size
   * its schema refuses (that call fails validation and reads nothing).
   * Looks at the raw request, before any validation, so it must not trust
   * the shapes it is given.
   */
  pageRows(name: unknown, params: unknown): number {
    const entry = typeof name === 'string' ? this.entries.get(name) : undefined;
    const page = entry?.page;
    if (page === undefined) return entry === undefined ? 0 : this.docsRows(entry, params);
    const size: unknown = Array.isArray(params)
      ? params[page.index]
      : params !== null && typeof params === 'object'
        ? (params as Record<string, unknown>)[page.name]
        : undefined;
    if (size === undefined || size === null) return page.default;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < page.minimum || size > page.maximum) return 0;
    return size === 0 ? page.maximum : size;
  }

  /**
   * A method that writes many documents at once (`docs`, as insert_many
   * takes them) counts each as a row, so writes share the budgets reads
   * have; documents sent as JSON text count as the most the schema allows.
   */
  private docsRows(entry: Entry, params: unknown): number {
    const at = entry.order.indexOf(DOCS_PARAM);
    if (at < 0) return 0;
    const docs: unknown = Array.isArray(params)
      ? params[at]
      : params !== null && typeof params === 'object'
        ? (params as Record<string, unknown>)[DOCS_PARAM]
        : undefined;
    return Array.isArray(docs) ? docs.length : typeof docs === 'string' ? MAX_DOCS : 0;
  }

  /** Runs a call: its result, or its error as an AppError; either way counted and logged. */
  invoke(name: string, params: unknown, ctx: CallContext): Promise<unknown> {
    const entry = this.entry(name);
    const calls = this.callLog(entry, ctx.door);
    const started = performance.now();
    return this.run(entry, params, ctx).then(
      (result) => {
        calls.ok(ctx, started);
        return result;
      },
      (err: unknown) => {
        throw calls.failed(ctx, err, started);
      },
    );
  }

  /** A door refused a call before running it (the REST door: a change asked for with GET). */
  refused(name: string, ctx: CallContext, kind: ErrorKind): void {
    this.callLog(this.entry(name), ctx.door).refused(ctx, kind);
  }

  /** A call of a batch not run (past its budget): counted, not logged (see CallLog.skipped). Only the table's names count. */
  skipped(name: unknown, door: DoorName, kind: ErrorKind): void {
    const entry = typeof name === 'string' ? this.entries.get(name) : undefined;
    if (entry) this.callLog(entry, door).skipped(kind);
  }

  private callLog(entry: Entry, door: DoorName): CallLog {
    let calls = entry.logs[door];
    if (calls === undefined) {
      let log = this.doorLogs.get(door);
      if (log === undefined) this.doorLogs.set(door, (log = this.observers.log.child({ door })));
      calls = entry.logs[door] = callLog(entry.spec, door, this.observers.metrics, log);
    }
    return calls;
  }

  private async run(entry: Entry, params: unknown, ctx: CallContext): Promise<unknown> {
    const { spec, validateParams } = entry;
    const { name } = spec;
    // Permission before validation: a caller without the role learns nothing about the params.
    if (spec.roles.length > 0 && !spec.roles.some((r) => ctx.caller.roles.includes(r))) {
      throw new AppError('permission_denied', `${name} requires the role ${spec.roles.join(' or ')}`);
    }
    if (!scopesAllow(ctx.caller.scopes, name)) {
      throw new AppError('permission_denied', `this token's scopes do not include ${name}`);
    }
    const named = Array.isArray(params) ? this.toNamed(name, params) : (params ?? {});
    const secretAt = secretParam(named, spec.secretParams);
    if (secretAt !== null) {
      // Not echoed, not stored: a secret belongs in the Authorization header (secret-params.ts).
      throw invalidParams([{ path: secretAt, message: 'holds an API secret: secrets go only in the Authorization header, never in params' }]);
    }
    if (!validateParams(named)) {
      throw invalidParams(describeErrors(validateParams.errors));
    }
    const { caller, services } = ctx;
    if (caller.apiKey !== null) {
      const rows = this.pageRows(name, named);
      const wait = rows > 0 ? services.rowRate.take(caller.apiKey, rows) : 0;
      if (wait > 0) {
        throw new AppError('rate_limited', `Too many rows read: at most ${services.rowRate.perSecond} a second (MAX_ROWS_PER_SECOND)`, {
          retry_after: wait,
          max_rows_per_second: services.rowRate.perSecond,
        });
      }
    }
    return spec.handler(named, ctx);
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new AppError('method_not_found', `Method not found: ${name}`);
    return entry;
  }
}

/** The page-size param of a params schema, following `$ref`s; undefined when it has none. */
function pageOf(schemas: SchemaSet, id: string, order: string[]): Page | undefined {
  const name = PAGE_PARAMS.find((p) => order.includes(p));
  if (name === undefined) return undefined;
  const index = order.indexOf(name);
  let file = id;
  let node = schemas.raw.get(id)!.properties![name] as Record<string, unknown> | undefined;
  for (let hops = 0; node && typeof node.$ref === 'string' && hops < 10; hops++) {
    const target = resolveRef(schemas.raw, node.$ref, file);
    file = target.file;
    node = target.node as Record<string, unknown> | undefined;
  }
  const n = (k: string, fallback?: number) => (typeof node?.[k] === 'number' ? node[k] : fallback);
  const dflt = n('default');
  // The batch budget counts a call without `limit` at this size: it must be stated, not guessed.
  if (dflt === undefined) throw new Error(`schemas/${id}: ${name} must state its default page size`);
  const maximum = n('maximum');
  // Without a maximum, 0 ("no limit") and any size could not be counted.
  if (maximum === undefined) throw new Error(`schemas/${id}: ${name} must state its largest page size`);
  return { name, index, default: dflt, minimum: n('minimum', 1)!, maximum };
}
