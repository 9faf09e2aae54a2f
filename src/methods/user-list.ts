import { method } from '../rpc/spec.js';
import { SYSTEM_MANAGER } from '../store/users.js';
import { shapeUser, userQuery } from '../store/user-query.js';

/**
 * Frappe's list parameters (the REST door's GET /api/resource/User passes
 * them through). The schema checks their shape; user-query.ts turns them into
 * a query on known fields only, or refuses them with invalid_params.
 */
export interface UserListParams {
  start?: number;
  limit?: number;
  fields?: string[] | string | null;
  filters?: unknown;
  or_filters?: unknown;
  order_by?: string | null;
  as_dict?: boolean | null;
}

export const userList = method<UserListParams>({
  name: 'user.list',
  summary: 'List users a page at a time, with Frappe-style fields, filters, or_filters, order_by and as_dict.',
  roles: [SYSTEM_MANAGER],
  readOnly: true,
  async handler(params, { services }) {
    const query = userQuery(params);
    const users = await services.storage.users.list(query, params.start ?? 0, params.limit ?? 20);
    return users.map((u) => shapeUser(u, query));
  },
});
