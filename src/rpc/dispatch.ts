/**
 * The one way any door calls a method: look it up in the table, check the
 * caller's roles, map positional params onto named ones, validate, run.
 */
import { AppError } from '../errors.js';
import type { ValidateFunction } from 'ajv';
import type { CallContext, MethodSpec } from './spec.js';
import { describeErrors, type SchemaSet } from './schemas.js';
import { scopesAllow } from '../auth/scopes.js';

interface Entry {
  spec: MethodSpec;
  /** Property names in the schema's declared order, for positional params. */
  order: string[];
  validateParams: ValidateFunction;
}

export class Dispatcher {
  private readonly entries = new Map<string, Entry>();

  constructor(
    table: readonly MethodSpec[],
    readonly schemas: SchemaSet,
  ) {
    for (const spec of table) {
      if (this.entries.has(spec.name)) throw new Error(`method ${spec.name} declared twice`);
      const id = `${spec.name}.params.json`;
      const validateParams = schemas.validator(id);
      schemas.validator(`${spec.name}.result.json`); // must exist, for tests and discovery
      const order = Object.keys(schemas.raw.get(id)?.properties ?? {});
      this.entries.set(spec.name, { spec, order, validateParams });
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
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
        throw new AppError('invalid_params', 'Invalid params', [
          { path: '/', message: `takes at most ${entry.order.length} positional params` },
        ]);
      }
      args.forEach((value, i) => (named[entry.order[i]!] = value));
    } else if (args !== undefined && args !== null) {
      if (typeof args !== 'object') {
        throw new AppError('invalid_params', 'Invalid params', [{ path: '/', message: 'must be an array or object' }]);
      }
      Object.assign(named, args);
    }
    if (kwargs !== undefined) {
      for (const [k, v] of Object.entries(kwargs as object)) {
        if (k in named) {
          throw new AppError('invalid_params', 'Invalid params', [{ path: `/${k}`, message: 'given twice' }]);
        }
        named[k] = v;
      }
    }
    return named;
  }

  async invoke(name: string, params: unknown, ctx: CallContext): Promise<unknown> {
    const { spec, validateParams } = this.entry(name);
    // Permission before validation: a caller without the role learns nothing about the params.
    if (spec.roles.length > 0 && !spec.roles.some((r) => ctx.caller.roles.includes(r))) {
      throw new AppError('permission_denied', `${name} requires the role ${spec.roles.join(' or ')}`);
    }
    if (!scopesAllow(ctx.caller.scopes, name)) {
      throw new AppError('permission_denied', `this token's scopes do not include ${name}`);
    }
    const named = Array.isArray(params) ? this.toNamed(name, params) : (params ?? {});
    if (!validateParams(named)) {
      throw new AppError('invalid_params', 'Invalid params', describeErrors(validateParams.errors));
    }
    return spec.handler(named, ctx);
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new AppError('method_not_found', `Method not found: ${name}`);
    return entry;
  }
}
