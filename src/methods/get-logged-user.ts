import { method } from '../rpc/spec.js';

/** Frappe's whoami: the caller's user name, as a bare string. */
export const getLoggedUser = method({
  name: 'frappe.auth.get_logged_user',
  summary: "The caller's user name.",
  roles: [],
  readOnly: true,
  handler(_params, { caller }) {
    return Promise.resolve(caller.user);
  },
});
