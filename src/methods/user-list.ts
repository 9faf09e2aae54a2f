import { method, type ResultOf } from '../rpc/spec.js';
import { SYSTEM_MANAGER } from '../store/users.js';
import { shapeUser, userQuery } from '../store/user-query.js';

/**
 * user.list takes Frappe's list parameters (the REST door's GET
 * /api/resource/User passes them through). The schema checks their shape;
 * user-query.ts turns them into a query on known fields only, or refuses
 * them with invalid_params.
 */
export const userList = method({
  name: 'user.list',
  summary: 'List users a page at a time, with Frappe-style fields, filters, or_filters, order_by and as_dict.',
  roles: [SYSTEM_MANAGER],
  readOnly: true,
  async handler(params, { services }) {
    const query = userQuery(params);
    const users = await services.storage.users.list(query, params.start ?? 0, params.limit ?? 20);
    // Rows of the fields asked for, each a field's stored value: the schema's
    // userFields (or their values in order), which shapeUser cannot type.
    return users.map((u) => shapeUser(u, query)) as ResultOf<'user.list'>;
  },
});
