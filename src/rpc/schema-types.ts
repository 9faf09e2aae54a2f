/**
 * GENERATED from schemas/*.json by scripts/schema-types.ts: do not edit.
 * After changing a schema, run `npm run schema-types`; `npm test` and
 * `npm run build` fail while this file is stale.
 *
 * MethodTypes maps each method's name to its params and result types.
 */

/**
 * How many entries to skip.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "start".
 */
export type Start = number;
/**
 * Page size.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "limit".
 */
export type Limit = number;
/**
 * A user name: a plain name such as Administrator, or an email address.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "userName".
 */
export type UserName = string;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auditAction".
 */
export type AuditAction =
  | "user.create"
  | "user.update"
  | "user.delete"
  | "keys.generate"
  | "keys.rotate"
  | "keys.update"
  | "keys.revoke"
  | "key.leaked";
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "timestamp".
 */
export type Timestamp = string;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "apiKey".
 */
export type ApiKey = string;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.audit.list.result".
 */
export type AuthAuditListResult = {
  at: Timestamp;
  actor: string;
  action: AuditAction;
  target: UserName;
  api_key?: ApiKey;
  address: string;
  request_id: string;
  /**
   * key.leaked: where the secret was found, as the reporter said (anything shaped like a secret withheld).
   */
  url?: string;
  /**
   * key.leaked: who found it (github, report_leak, cli) and, from GitHub, where (content, commit, ...).
   */
  source?: string;
}[];
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.get.result".
 */
export type AuthKeysGetResult = KeyInfo;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "nullableTimestamp".
 */
export type NullableTimestamp = Timestamp | null;
/**
 * When the token stops working; null: never.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "expiresAt".
 */
export type ExpiresAt = Timestamp | null;
/**
 * A method-name pattern: a method's name (auth.verify), a family (user.*), or * for all.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "scope".
 */
export type Scope = string;
/**
 * The methods the token may call; empty: any method its user's roles allow.
 *
 * @maxItems 100
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "scopes".
 */
export type Scopes = Scope[];
/**
 * Limits on the key's calls, each counted over its own window; names must differ. Empty: none.
 *
 * @maxItems 10
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "ratelimits".
 */
export type Ratelimits = RateLimit[];
/**
 * A balance each call spends; at 0 the key is refused until its refill. null: no credits (unlimited).
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "credits".
 */
export type Credits = {
  /**
   * Calls left (each spends its method's cost, 1 unless stated).
   */
  remaining: number;
  refill?: Refill | null;
} | null;
/**
 * Where the token may be used from: IPv4 and IPv6 addresses and CIDR ranges (10.0.0.0/8, 2001:db8::/32, 203.0.113.7); an IPv4-mapped IPv6 address is its IPv4 address. Empty: anywhere.
 *
 * @maxItems 100
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "ipAllowlist".
 */
export type IpAllowlist = string[];
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.list.result".
 */
export type AuthKeysListResult = KeyInfo[];
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.update.result".
 */
export type AuthKeysUpdateResult = KeyInfo;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.verify.result".
 */
export type AuthVerifyResult =
  | Identity
  | {
      valid: false;
    };
/**
 * A role name such as System Manager: letters, digits, _ and -, words separated by single spaces.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "role".
 */
export type Role = string;
/**
 * @maxItems 50
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "roles".
 */
export type Roles = Role[];
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.auth.get_logged_user.result".
 */
export type FrappeAuthGetLoggedUserResult = UserName;
/**
 * null, as Frappe answers.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.delete.result".
 */
export type FrappeClientDeleteResult = null;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.params.filters".
 */
export type UserListParamsFilters = UserListParamsCondition[] | (UserListParamsFilterDict | (string | null));
/**
 * [field, operator, value], [doctype, field, operator, value], or {field: value | [operator, value]}.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.params.condition".
 */
export type UserListParamsCondition =
  | UserListParamsOperand[]
  | (UserListParamsFilterDict & {
      [k: string]: unknown | undefined;
    });
/**
 * A value, or a list of values (in, not in, between).
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.params.operand".
 */
export type UserListParamsOperand = UserListParamsScalar[] | UserListParamsScalar;
/**
 * A string, number, boolean or null; never an object or a list.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.params.scalar".
 */
export type UserListParamsScalar = string | unknown;
/**
 * value, or [operator, value].
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.params.dictValue".
 */
export type UserListParamsDictValue = UserListParamsOperand[] | UserListParamsScalar;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get.result".
 */
export type FrappeClientGetResult = FrappeClientGetResultUser;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_count.result".
 */
export type FrappeClientGetCountResult = number;
/**
 * Fields to return: a list, "*" for all but roles, or a comma-separated string; absent: the name only, as in Frappe.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_list.params.fields".
 */
export type FrappeClientGetListParamsFields = string[] | string | null;
/**
 * Users: each an object of the chosen fields (as_dict true), or an array of their values in the order of fields.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_list.result".
 */
export type FrappeClientGetListResult = (FrappeClientGetListResultRow | unknown[])[];
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_value.result".
 */
export type FrappeClientGetValueResult = FrappeClientGetListResultRow | unknown[] | string | number | null;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.insert.result".
 */
export type FrappeClientInsertResult = FrappeClientGetResultUser;
/**
 * The names created, in order.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.insert_many.result".
 */
export type FrappeClientInsertManyResult = UserName[];
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.save.result".
 */
export type FrappeClientSaveResult = FrappeClientGetResultUser;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.set_value.result".
 */
export type FrappeClientSetValueResult = FrappeClientGetResultUser;
/**
 * A display name in any script; no invisible characters, no leading or trailing space.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "fullName".
 */
export type FullName = string;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.create.result".
 */
export type UserCreateResult = User;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.get.result".
 */
export type UserGetResult = User;
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.result.value".
 */
export type UserListResultValue = string | boolean | Roles;
/**
 * Users: each an object of the chosen fields (as_dict true), or an array of their values in the order of fields (as_dict false).
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.result".
 */
export type UserListResult = (UserListResultUserFields | UserListResultValue[])[];
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.update.result".
 */
export type UserUpdateResult = User;

/**
 * Each method's params and result, by method name.
 */
export interface MethodTypes {
  "auth.audit.list": {
    params: AuthAuditListParams;
    result: AuthAuditListResult;
  };
  "auth.keys.get": {
    params: AuthKeysGetParams;
    result: AuthKeysGetResult;
  };
  "auth.keys.list": {
    params: AuthKeysListParams;
    result: AuthKeysListResult;
  };
  "auth.keys.report_leak": {
    params: AuthKeysReportLeakParams;
    result: AuthKeysReportLeakResult;
  };
  "auth.keys.revoke": {
    params: AuthKeysRevokeParams;
    result: AuthKeysRevokeResult;
  };
  "auth.keys.update": {
    params: AuthKeysUpdateParams;
    result: AuthKeysUpdateResult;
  };
  "auth.verify": {
    params: AuthVerifyParams;
    result: AuthVerifyResult;
  };
  "frappe.auth.get_logged_user": {
    params: FrappeAuthGetLoggedUserParams;
    result: FrappeAuthGetLoggedUserResult;
  };
  "frappe.client.delete": {
    params: FrappeClientDeleteParams;
    result: FrappeClientDeleteResult;
  };
  "frappe.client.get": {
    params: FrappeClientGetParams;
    result: FrappeClientGetResult;
  };
  "frappe.client.get_count": {
    params: FrappeClientGetCountParams;
    result: FrappeClientGetCountResult;
  };
  "frappe.client.get_list": {
    params: FrappeClientGetListParams;
    result: FrappeClientGetListResult;
  };
  "frappe.client.get_value": {
    params: FrappeClientGetValueParams;
    result: FrappeClientGetValueResult;
  };
  "frappe.client.insert": {
    params: FrappeClientInsertParams;
    result: FrappeClientInsertResult;
  };
  "frappe.client.insert_many": {
    params: FrappeClientInsertManyParams;
    result: FrappeClientInsertManyResult;
  };
  "frappe.client.save": {
    params: FrappeClientSaveParams;
    result: FrappeClientSaveResult;
  };
  "frappe.client.set_value": {
    params: FrappeClientSetValueParams;
    result: FrappeClientSetValueResult;
  };
  "frappe.core.doctype.user.user.generate_keys": {
    params: FrappeCoreDoctypeUserUserGenerateKeysParams;
    result: FrappeCoreDoctypeUserUserGenerateKeysResult;
  };
  "rpc.discover": {
    params: RpcDiscoverParams;
    result: RpcDiscoverResult;
  };
  "user.create": {
    params: UserCreateParams;
    result: UserCreateResult;
  };
  "user.delete": {
    params: UserDeleteParams;
    result: UserDeleteResult;
  };
  "user.get": {
    params: UserGetParams;
    result: UserGetResult;
  };
  "user.list": {
    params: UserListParams;
    result: UserListResult;
  };
  "user.update": {
    params: UserUpdateParams;
    result: UserUpdateResult;
  };
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.audit.list.params".
 */
export interface AuthAuditListParams {
  start?: Start;
  limit?: Limit;
  /**
   * Entries where this user is the actor or the target.
   */
  user?: UserName;
  action?: AuditAction;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.get.params".
 */
export interface AuthKeysGetParams {
  /**
   * The key's owner.
   */
  user: UserName;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "keyInfo".
 */
export interface KeyInfo {
  user: UserName;
  api_key: ApiKey;
  created_at: Timestamp;
  /**
   * When the current secret was issued.
   */
  rotated_at: Timestamp;
  /**
   * Last successful use, to within a minute.
   */
  last_used_at: NullableTimestamp;
  expires_at: ExpiresAt;
  scopes: Scopes;
  /**
   * Until when the secret before the last rotation still works (grace).
   */
  previous_valid_until: NullableTimestamp;
  ratelimits: Ratelimits;
  /**
   * remaining: what no instance holds yet (instances lease credits ahead; see docs/limits.md); a due refill shows as done.
   */
  credits: Credits;
  ip_allowlist: IpAllowlist;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "rateLimit".
 */
export interface RateLimit {
  /**
   * Names the limit in errors and in the RateLimit fields: letters, digits, _ and -.
   */
  name: string;
  /**
   * Calls allowed per window.
   */
  limit: number;
  /**
   * The window, in milliseconds (at most 31 days); windows start at multiples of it since the Unix epoch.
   */
  duration_ms: number;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "refill".
 */
export interface Refill {
  /**
   * The balance each refill sets (not adds).
   */
  amount: number;
  /**
   * daily (at 00:00 UTC), monthly (the 1st, 00:00 UTC), or a period in milliseconds (at its multiples since the Unix epoch).
   */
  interval: ("daily" | "monthly") | number;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.list.params".
 */
export interface AuthKeysListParams {
  start?: Start;
  limit?: Limit;
  /**
   * Only this user's key.
   */
  user?: UserName;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.report_leak.params".
 */
export interface AuthKeysReportLeakParams {
  /**
   * The leaked secret as found: a bare api_secret (tas_...) or api_key:api_secret.
   */
  token: string;
  /**
   * Where it was found (kept in the audit entry; anything shaped like a secret is withheld).
   */
  url?: string;
}
/**
 * The same answer whatever the token was: whether it was live is not told (see docs/api.md#leaked-secrets).
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.report_leak.result".
 */
export interface AuthKeysReportLeakResult {
  received: true;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.revoke.params".
 */
export interface AuthKeysRevokeParams {
  /**
   * The key's owner.
   */
  user: UserName;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.revoke.result".
 */
export interface AuthKeysRevokeResult {
  user: UserName;
  api_key: ApiKey;
  revoked: true;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.keys.update.params".
 */
export interface AuthKeysUpdateParams {
  /**
   * The key's owner.
   */
  user: UserName;
  /**
   * A future time, or null for never.
   */
  expires_at?: ExpiresAt;
  scopes?: Scopes;
  /**
   * Omitted: the key's current rate limits stay; []: none.
   */
  ratelimits?: Ratelimits;
  /**
   * Omitted: the key's current credits stay; given: the balance is set (not added to).
   */
  credits?: Credits;
  /**
   * CIDR ranges and addresses the token may be used from; empty: anywhere.
   */
  ip_allowlist?: IpAllowlist;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "auth.verify.params".
 */
export interface AuthVerifyParams {
  /**
   * api_key:api_secret of another caller to check (System Manager or Token Verifier only).
   */
  token?: string;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "identity".
 */
export interface Identity {
  valid: true;
  user: UserName;
  roles: Roles;
  api_key: ApiKey | null;
  scopes: Scopes;
  expires_at: ExpiresAt;
  /**
   * The token's credits left (after this call, for the caller's own); null: none set (unlimited).
   */
  credits: number | null;
  /**
   * Each rate limit of the token, as this instance knows it: calls left in the current window and when it ends.
   */
  ratelimits: RateLimitState[];
  ip_allowlist: IpAllowlist;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "rateLimitState".
 */
export interface RateLimitState {
  name: string;
  limit: number;
  remaining: number;
  reset_at: Timestamp;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.auth.get_logged_user.params".
 */
export interface FrappeAuthGetLoggedUserParams {}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.delete.params".
 */
export interface FrappeClientDeleteParams {
  /**
   * The DocType: "User", the only one this service holds; any other is DoesNotExistError (-32004).
   */
  doctype: string;
  name: UserName;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get.params".
 */
export interface FrappeClientGetParams {
  /**
   * The DocType: "User", the only one this service holds; any other is DoesNotExistError (-32004).
   */
  doctype: string;
  name?: UserName;
  /**
   * When name is not given: a name, or conditions (the first match, by name).
   */
  filters?: UserListParamsFilters | UserName;
  /**
   * Frappe's parent doctype, for child tables; User is none, so it is ignored.
   */
  parent?: string | null;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.params.filterDict".
 */
export interface UserListParamsFilterDict {
  [k: string]: UserListParamsDictValue | undefined;
}
/**
 * A user as Frappe's User document. api_key is the key's public half (null without one); the secret is never shown.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get.result.user".
 */
export interface FrappeClientGetResultUser {
  doctype: "User";
  name: UserName;
  /**
   * The name, when it is an email address.
   */
  email: string | null;
  /**
   * full_name's first word.
   */
  first_name: string | null;
  /**
   * The rest of full_name.
   */
  last_name: string | null;
  full_name: string;
  enabled: 0 | 1;
  /**
   * Frappe's Has Role table.
   */
  roles: FrappeClientGetResultRoleRow[];
  api_key: ApiKey | null;
  creation: Timestamp;
  modified: Timestamp;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get.result.roleRow".
 */
export interface FrappeClientGetResultRoleRow {
  role: Role;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_count.params".
 */
export interface FrappeClientGetCountParams {
  /**
   * The DocType: "User", the only one this service holds; any other is DoesNotExistError (-32004).
   */
  doctype: string;
  /**
   * Conditions, as in get_list.
   */
  filters?: UserListParamsFilters;
  /**
   * Frappe prints the query on the server; ignored here.
   */
  debug?: boolean | number | null;
  /**
   * Frappe caches the count; ignored here.
   */
  cache?: boolean | number | null;
}
/**
 * Frappe's get_list (frappe/client.py), in its order. Fields use Frappe's User names: name, email, first_name, last_name, full_name, enabled (1/0), roles (Has Role rows), api_key, creation, modified.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_list.params".
 */
export interface FrappeClientGetListParams {
  /**
   * The DocType: "User", the only one this service holds; any other is DoesNotExistError (-32004).
   */
  doctype: string;
  fields?: FrappeClientGetListParamsFields;
  /**
   * ANDed conditions, as user.list takes them: [[field, operator, value], ...], [["User", field, operator, value], ...], ["Has Role", "role", operator, value], or {field: value | [operator, value]}.
   */
  filters?: UserListParamsFilters;
  /**
   * Refused unless empty: grouping is not supported here.
   */
  group_by?: string | null;
  /**
   * "field [asc|desc], ..."; default name asc (Frappe's is modified desc).
   */
  order_by?: string | null;
  limit_start?: Start;
  /**
   * Page size; 0 (Frappe's "no limit") is the largest page, 1000.
   */
  limit_page_length?: number;
  /**
   * Frappe's parent doctype, for child tables; User is none, so it is ignored.
   */
  parent?: string | null;
  /**
   * Frappe prints the query on the server; ignored here.
   */
  debug?: boolean | number | null;
  /**
   * true (default): each user an object; false: an array of the fields' values, in order.
   */
  as_dict?: boolean | null;
  /**
   * ORed conditions, in the same forms; the group is ANDed with filters.
   */
  or_filters?: UserListParamsFilters;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_list.result.row".
 */
export interface FrappeClientGetListResultRow {
  name?: UserName;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  full_name?: string;
  enabled?: 0 | 1;
  roles?: FrappeClientGetResultRoleRow[];
  api_key?: ApiKey | null;
  creation?: Timestamp;
  modified?: Timestamp;
  created_at?: Timestamp;
  modified_at?: Timestamp;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.get_value.params".
 */
export interface FrappeClientGetValueParams {
  /**
   * The DocType: "User", the only one this service holds; any other is DoesNotExistError (-32004).
   */
  doctype: string;
  /**
   * One field, or a list of them (or its JSON text), by Frappe's User names.
   */
  fieldname: string | string[];
  /**
   * The user: its name, or conditions as in get_list's filters (the first match, by name). null or absent: the first user.
   */
  filters?: UserListParamsFilters | UserName;
  /**
   * true (the default): an object of the fields ({} when nothing matches); false: the value of the one field, or the list of values (null when nothing matches).
   */
  as_dict?: boolean | null;
  /**
   * Frappe prints the query on the server; ignored here.
   */
  debug?: boolean | number | null;
  /**
   * Frappe's parent doctype, for child tables; User is none, so it is ignored.
   */
  parent?: string | null;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.insert.params".
 */
export interface FrappeClientInsertParams {
  /**
   * A User document: name (or email), full_name (or first_name and last_name), enabled (1/0), roles (Has Role rows or names); doctype "User". Or its JSON text.
   */
  doc:
    | {
        [k: string]: unknown | undefined;
      }
    | string;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.insert_many.params".
 */
export interface FrappeClientInsertManyParams {
  /**
   * Up to 200 User documents, as insert takes them (or the list's JSON text).
   */
  docs:
    | {
        [k: string]: unknown | undefined;
      }[]
    | string;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.save.params".
 */
export interface FrappeClientSaveParams {
  /**
   * A whole User document as read (doctype and name required), with changes; bookkeeping (creation, modified, api_key unchanged) is ignored. Or its JSON text.
   */
  doc:
    | {
        [k: string]: unknown | undefined;
      }
    | string;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.client.set_value.params".
 */
export interface FrappeClientSetValueParams {
  /**
   * The DocType: "User", the only one this service holds; any other is DoesNotExistError (-32004).
   */
  doctype: string;
  name: UserName;
  /**
   * The field to set (full_name, first_name, last_name, enabled, roles), or an object of fields and values (or its JSON text) when value is not given.
   */
  fieldname:
    | string
    | {
        [k: string]: unknown | undefined;
      };
  /**
   * The field's value: enabled takes 1/0, roles Has Role rows or names (or their JSON text).
   */
  value?: unknown;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.core.doctype.user.user.generate_keys.params".
 */
export interface FrappeCoreDoctypeUserUserGenerateKeysParams {
  /**
   * The user whose keys to generate.
   */
  user: UserName;
  /**
   * When the token stops working (a future time), or null for never. Omitted: the key's current expiry stays.
   */
  expires_at?: ExpiresAt;
  /**
   * Method-name patterns the token may call. Omitted: the key's current scopes stay.
   */
  scopes?: Scopes;
  /**
   * CIDR ranges and addresses the token may be used from; empty: anywhere. Omitted: the key's current list stays.
   */
  ip_allowlist?: IpAllowlist;
  /**
   * How long the previous secret keeps working after this rotation (default 0; at most MAX_GRACE_SECONDS).
   */
  grace_seconds?: number;
  /**
   * Omitted: the key's current rate limits stay; []: none.
   */
  ratelimits?: Ratelimits;
  /**
   * Omitted: the key's current credits stay; given: the balance is set (not added to).
   */
  credits?: Credits;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "frappe.core.doctype.user.user.generate_keys.result".
 */
export interface FrappeCoreDoctypeUserUserGenerateKeysResult {
  api_key: ApiKey;
  /**
   * Shown once, never again.
   */
  api_secret: string;
  expires_at: ExpiresAt;
  scopes: Scopes;
  previous_valid_until: NullableTimestamp;
  ratelimits: Ratelimits;
  credits: Credits;
  ip_allowlist: IpAllowlist;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "rpc.discover.params".
 */
export interface RpcDiscoverParams {}
/**
 * An OpenRPC document (https://spec.open-rpc.org). This sketch checks its outline; the tests check the whole of it against the OpenRPC meta-schema.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "rpc.discover.result".
 */
export interface RpcDiscoverResult {
  openrpc: string;
  info: {
    title: string;
    version: string;
    description?: string;
    [k: string]: unknown | undefined;
  };
  /**
   * @minItems 1
   */
  methods: {
    name: string;
    summary?: string;
    paramStructure?: "by-position" | "by-name" | "either";
    params: {
      name: string;
      required?: boolean;
      schema: {
        [k: string]: unknown | undefined;
      };
      [k: string]: unknown | undefined;
    }[];
    result: {
      name: string;
      schema: {
        [k: string]: unknown | undefined;
      };
      [k: string]: unknown | undefined;
    };
    errors: {
      code: number;
      message: string;
      [k: string]: unknown | undefined;
    }[];
    [k: string]: unknown | undefined;
  }[];
  components: {
    schemas?: {
      [k: string]:
        | {
            [k: string]: unknown | undefined;
          }
        | undefined;
    };
    [k: string]: unknown | undefined;
  };
  [k: string]: unknown | undefined;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.create.params".
 */
export interface UserCreateParams {
  name: UserName;
  full_name?: FullName;
  roles?: Roles;
  enabled?: boolean;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user".
 */
export interface User {
  name: UserName;
  full_name: string;
  roles: Roles;
  enabled: boolean;
  created_at: Timestamp;
  modified_at: Timestamp;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.delete.params".
 */
export interface UserDeleteParams {
  name: UserName;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.delete.result".
 */
export interface UserDeleteResult {
  name: UserName;
  deleted: true;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.get.params".
 */
export interface UserGetParams {
  name: UserName;
}
/**
 * Frappe's list parameters. The shapes are checked here (every filter value is a scalar or a list of scalars, never an object); fields and operators are checked when the query is built.
 *
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.params".
 */
export interface UserListParams {
  start?: Start;
  limit?: Limit;
  /**
   * Fields to return: a list, ["*"] for all (the default), or a comma-separated string. creation and modified are accepted for created_at and modified_at.
   */
  fields?: string[] | string | null;
  /**
   * ANDed conditions: [[field, operator, value], ...], [["User", field, operator, value], ...], or {field: value | [operator, value]}. Operators: =, !=, <, >, <=, >=, like, not like, in, not in, is (set / not set), between.
   */
  filters?: UserListParamsFilters;
  /**
   * ORed conditions, in the same forms; the group is ANDed with filters.
   */
  or_filters?: UserListParamsFilters;
  /**
   * "field [asc|desc], ..." on name, full_name, enabled, created_at, modified_at; default name asc, and name always breaks ties.
   */
  order_by?: string | null;
  /**
   * true (default): each user is an object; false: an array of the fields' values, in the order of fields.
   */
  as_dict?: boolean | null;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.list.result.userFields".
 */
export interface UserListResultUserFields {
  name?: UserName;
  full_name?: string;
  roles?: Roles;
  enabled?: boolean;
  created_at?: Timestamp;
  modified_at?: Timestamp;
  creation?: Timestamp;
  modified?: Timestamp;
}
/**
 * This interface was referenced by `MethodTypes`'s JSON-Schema
 * via the `definition` "user.update.params".
 */
export interface UserUpdateParams {
  name: UserName;
  full_name?: FullName;
  roles?: Roles;
  enabled?: boolean;
}
