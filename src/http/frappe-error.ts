/**
 * Frappe's error body, as v1 of its REST API sends it (frappe/utils/response.py:
 * report_error and make_logs):
 *
 *   exc_type          the exception class's name, e.g. "ValidationError"
 *   exception         the traceback's last line, "frappe.exceptions.ValidationError: <message>"
 *   exc               JSON text of a list of tracebacks; frappe-client raises
 *                     FrappeException when it is present (post_process in
 *                     frappeclient.py). We send that last line only, never a stack.
 *   _server_messages  JSON text of a list of JSON texts, each a message dialog
 *                     {message, title, indicator: "red"} as frappe.throw queues it.
 *
 * Invalid params give one message per failing path ("/user: must match ...").
 *
 * Messages name what the client sent (a field, a method, a doctype); the
 * places that build them leave out a value holding a secret, and this is the
 * last net for any that did not: whatever is shaped like a secret is
 * withheld (tas_[withheld]) from every text of the body.
 */
import { ERRORS, type AppError } from '../errors.js';
import type { ParamProblem } from '../rpc/schemas.js';
import { withholdSecrets } from '../auth/token.js';

interface FrappeErrorBody {
  exc_type: string;
  exception: string;
  exc: string;
  _server_messages: string;
}

export function frappeError(err: AppError): FrappeErrorBody {
  const { excType, message: title } = ERRORS[err.kind];
  const problems = err.kind === 'invalid_params' && Array.isArray(err.data) ? (err.data as ParamProblem[]) : [];
  const safe = withholdSecrets;
  const messages = problems.length > 0 ? problems.map((p) => safe(`${p.path}: ${p.message}`)) : [safe(err.message)];
  const text = problems.length > 0 ? `${safe(err.message)}: ${messages.join('; ')}` : messages[0]!;
  // Python prints a built-in exception without its module.
  const exception = `${excType === 'Exception' ? '' : 'frappe.exceptions.'}${excType}: ${text}`;
  return {
    exc_type: excType,
    exception,
    exc: JSON.stringify([exception]),
    _server_messages: JSON.stringify(messages.map((message) => JSON.stringify({ message, title, indicator: 'red' }))),
  };
}
