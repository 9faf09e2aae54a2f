// PLACEHOLDER: helper C replaces this file with the real rpc.discover.
import { method } from '../rpc/spec.js';
import { AppError } from '../errors.js';

export const rpcDiscover = method<Record<string, never>>({
  name: 'rpc.discover',
  summary: 'Describe every method of this service as an OpenRPC document.',
  roles: [],
  readOnly: true,
  async handler() {
    throw new AppError('internal', 'not built yet');
  },
});
