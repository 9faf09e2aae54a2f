/**
 * Who is calling, and what the token check answers: the types every door,
 * the method core and the CLI share (re-exported by verify.ts).
 */
import type { ObjectId } from 'mongodb';
import type { AuthFailure } from '../metrics.js';
import type { KeyLimits } from '../store/key-limits.js';
import type { Ranges } from '../ip.js';

export interface Caller {
  user: string;
  /** null for the local operator (CLI), who holds no token. */
  userId: ObjectId | null;
  roles: string[];
  apiKey: string | null;
  /** When the token stops working (ISO), or null. */
  expiresAt: string | null;
  /** Method-name patterns the token may call (see auth/scopes.ts); empty: no limit beyond the roles. */
  scopes: readonly string[];
  /** The token's rate limits and credits (auth/key-limiter.ts); null or missing: none (the CLI's operator has none). */
  limits?: KeyLimits | null;
  /** Where the token may be used from (the key's ip_allowlist); null: anywhere. */
  ipAllowlist: Ranges | null;
}

/** The local operator (CLI, tests' direct calls): acts as the given user, holding no token. */
export function operator(user: { _id: ObjectId; name: string; roles: string[] }): Caller {
  return { user: user.name, userId: user._id, roles: user.roles, apiKey: null, expiresAt: null, scopes: [], ipAllowlist: null };
}

/** Why a token was refused (the caller never learns which). */
export type Refusal = Exclude<AuthFailure, 'rate_limited'>;

export type Verdict = { ok: true; caller: Caller } | { ok: false; reason: Refusal } | { ok: false; reason: 'rate_limited'; retryAfter: number };

/** Who is knocking, for the failure limits. */
export interface Client {
  address: string;
  /** How many calls the request carries: each counts against the limits. */
  weight: number;
}
