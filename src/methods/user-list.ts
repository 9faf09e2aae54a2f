import { method } from '../rpc/spec.js';
import { SYSTEM_MANAGER, publicUser } from '../store/users.js';

// Helper B extends this with Frappe's list parameters (fields, filters, or_filters, order_by, as_dict).
export const userList = method<{ start?: number; limit?: number }>({
  name: 'user.list',
  summary: 'List users by name, a page at a time.',
  roles: [SYSTEM_MANAGER],
  readOnly: true,
  async handler({ start = 0, limit = 20 }, { services }) {
    return (await services.storage.users.list(start, limit)).map(publicUser);
  },
});

