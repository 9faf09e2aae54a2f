/**
 * Every failure the service can answer with, declared once: the registry is
 * closed, so no door invents a status of its own. Each door maps an AppError
 * through this table: the JSON-RPC door uses `rpc` (and `http` for failures
 * of the HTTP request itself), the REST door `http` and `excType` (Frappe's
 * names), the CLI prints `message`.
 */
export const ERRORS = {
  parse_error: { rpc: -32700, http: 400, excType: 'ValidationError', message: 'Parse error' },
  invalid_request: { rpc: -32600, http: 400, excType: 'ValidationError', message: 'Invalid Request' },
  method_not_found: { rpc: -32601, http: 404, excType: 'DoesNotExistError', message: 'Method not found' },
  invalid_params: { rpc: -32602, http: 417, excType: 'ValidationError', message: 'Invalid params' },
  internal: { rpc: -32603, http: 500, excType: 'Exception', message: 'Internal error' },
  authentication_failed: { rpc: -32001, http: 401, excType: 'AuthenticationError', message: 'Authentication failed' },
  permission_denied: { rpc: -32003, http: 403, excType: 'PermissionError', message: 'Permission denied' },
  not_found: { rpc: -32004, http: 404, excType: 'DoesNotExistError', message: 'Not found' },
  conflict: { rpc: -32009, http: 409, excType: 'DuplicateEntryError', message: 'Already exists' },
  rate_limited: { rpc: -32029, http: 429, excType: 'TooManyRequestsError', message: 'Too many requests' },
  // A key's credits spent (docs/limits.md): the same code and status as a rate limit, told apart by error.data.credits.
  out_of_credits: { rpc: -32029, http: 429, excType: 'TooManyRequestsError', message: 'Out of credits' },
  // Also /readyz's status while the database does not answer, or the service is shutting down.
  storage_unavailable: { rpc: -32050, http: 503, excType: 'ServiceUnavailableError', message: 'Storage unavailable' },
  // Request bodies in flight from all clients together past MAX_BODY_BYTES_IN_FLIGHT: try again shortly.
  busy: { rpc: -32051, http: 503, excType: 'ServiceUnavailableError', message: 'Server busy' },
  // A batch past MAX_BATCH_ROWS or MAX_RESPONSE_BYTES, or one answer past MAX_RESPONSE_BYTES.
  too_large: { rpc: -32013, http: 413, excType: 'ValidationError', message: 'Batch budget exceeded' },
  // Failures of the HTTP request itself, before any call: JSON-RPC has no code
  // of its own for them, so its body says -32600 and the status says which.
  body_too_large: { rpc: -32600, http: 413, excType: 'ValidationError', message: 'Request body too large' },
  unsupported_media_type: { rpc: -32600, http: 415, excType: 'ValidationError', message: 'Unsupported media type' },
  method_not_allowed: { rpc: -32600, http: 405, excType: 'ValidationError', message: 'Method not allowed' },
  // Answered by Node itself (server.requestTimeout, headersTimeout) with an empty body; listed so the registry is whole.
  request_timeout: { rpc: -32600, http: 408, excType: 'ValidationError', message: 'Request timeout' },
  route_not_found: { rpc: -32601, http: 404, excType: 'DoesNotExistError', message: 'Not found' },
  // A token in the query string, where access logs and browser history keep it. Frappe's
  // door answers its ValidationError's status (417), as it does for other invalid params.
  secret_in_url: { rpc: -32602, http: 400, frappeHttp: 417, excType: 'ValidationError', message: 'Invalid params' },
} as const;

export type ErrorKind = keyof typeof ERRORS;

/** The HTTP status of a failure: the JSON-RPC door's and /metrics'. */
export function statusOf(kind: ErrorKind): number {
  return ERRORS[kind].http;
}

/** The HTTP status Frappe's REST door answers a failure with. */
export function frappeStatusOf(kind: ErrorKind): number {
  const entry = ERRORS[kind];
  return 'frappeHttp' in entry ? entry.frappeHttp : entry.http;
}

export interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

/** One reason params were refused: where (a JSON pointer into the params) and why. */
export interface ParamProblem {
  path: string;
  message: string;
}

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly kind: ErrorKind,
    message: string = ERRORS[kind].message,
    readonly data?: unknown,
  ) {
    super(message);
  }

  toRpc(): RpcError {
    const error: RpcError = { code: ERRORS[this.kind].rpc, message: this.message };
    if (this.data !== undefined) error.data = this.data;
    return error;
  }
}

/** The one way to refuse params: -32602 "Invalid params", with each problem as `data`. */
export function invalidParams(problems: readonly ParamProblem[]): AppError {
  return new AppError('invalid_params', ERRORS.invalid_params.message, problems);
}

/** invalidParams for one problem. */
export function invalidParam(path: string, message: string): AppError {
  return invalidParams([{ path, message }]);
}

/** The one place an unexpected throw becomes a bland, safe error. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isStorageDown(err)) return new AppError('storage_unavailable');
  return new AppError('internal');
}

/** Driver errors that mean "the database is not reachable right now", or too slow (its time limit, code 50 MaxTimeMSExpired). */
function isStorageDown(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return (
    typeof name === 'string' &&
    (/^Mongo(ServerSelection|Network|NetworkTimeout|TopologyClosed|PoolCleared|NotConnected|OperationTimeout)Error$/.test(name) ||
      (name === 'MongoServerError' && (err as { code?: unknown }).code === 50))
  );
}

export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 11000;
}

/** An unordered insertMany whose only failures are _ids already taken (by an earlier write, or an attempt whose reply was lost). */
export function onlyDuplicates(err: unknown): boolean {
  const writeErrors = (err as { writeErrors?: unknown } | null)?.writeErrors;
  const list = Array.isArray(writeErrors) ? (writeErrors as { code?: unknown }[]) : writeErrors ? [writeErrors as { code?: unknown }] : [];
  return list.length > 0 && list.every((e) => e.code === 11000) && (err as { writeConcernError?: unknown }).writeConcernError === undefined;
}
