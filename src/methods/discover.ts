/**
 * rpc.discover: the OpenRPC document of this service (the JSON-RPC service
 * discovery convention; jayson's router serves the `rpc.` name like any other).
 */
import { method } from '../rpc/spec.js';
import { buildOpenRpc, type OpenRpcDocument } from '../rpc/openrpc.js';
import { loadSchemas } from '../rpc/schemas.js';
import { encodeOnce } from '../rpc/envelope.js';
// A cycle (index.ts imports this file), harmless in ESM: methodTable is only
// read inside the handler, long after both modules have finished loading.
import { methodTable } from './index.js';

let document: OpenRpcDocument | undefined;

export const rpcDiscover = method<Record<string, never>>({
  name: 'rpc.discover',
  summary: 'Describe every method of this service as an OpenRPC document.',
  roles: [],
  readOnly: true,
  // Built on first call, once, and encoded as JSON once: the table and the
  // schema files do not change while the process runs, so asking costs no
  // work but the copy (its bytes still count against a batch's budget).
  async handler() {
    return (document ??= encodeOnce(buildOpenRpc(methodTable, loadSchemas().raw)));
  },
});
