/**
 * rpc.discover: the OpenRPC document of this service (the JSON-RPC service
 * discovery convention; jayson's router serves the `rpc.` name like any other).
 */
import { method, type MethodSpec } from '../rpc/spec.js';
import { buildOpenRpc, type OpenRpcDocument } from '../rpc/openrpc.js';
import { loadSchemas } from '../rpc/schemas.js';
import { encodeOnce } from '../rpc/encoded.js';

/**
 * The method, describing the table `table()` returns. A function, not the
 * table itself: the table holds this method (index.ts passes
 * `() => methodTable`), and is read only when the method is first called.
 */
export function rpcDiscover(table: () => readonly MethodSpec[]) {
  let document: OpenRpcDocument | undefined;
  return method({
    name: 'rpc.discover',
    summary: 'Describe every method of this service as an OpenRPC document.',
    roles: [],
    readOnly: true,
    // The largest answer of the service: a key with credits pays more for it.
    cost: 5,
    // Built on first call, once, and encoded as JSON once: the table and the
    // schema files do not change while the process runs, so asking costs no
    // work but the copy (its bytes still count against a batch's budget).
    handler() {
      return Promise.resolve((document ??= encodeOnce(buildOpenRpc(table(), loadSchemas().raw))));
    },
  });
}
