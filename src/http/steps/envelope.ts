/**
 * Step 7, envelope: on the JSON-RPC door, the body is parsed here, once,
 * before the token check: a refusal then echoes each request's id (and a
 * batch gets an array of them), and a batch's token check is charged for
 * each of its calls. jayson's own parse error would carry the SyntaxError
 * object as an empty `data`, so jayson is handed parsed requests only.
 */
import { parseRequest } from '../../rpc/envelope.js';
import type { Door, Step } from '../exchange.js';

export function envelope(jsonrpc: Door, maxBatch: number): Step {
  return (x) => {
    if (x.door !== jsonrpc) return true;
    const parsed = (x.parsed = parseRequest(x.body));
    const { request } = parsed;
    if (Array.isArray(request)) x.weight = Math.min(Math.max(request.length, 1), maxBatch);
    return true;
  };
}
