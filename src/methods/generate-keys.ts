import { method } from '../rpc/spec.js';
import { hashSecret, newApiSecret } from '../auth/token.js';
import { SYSTEM_MANAGER } from '../store/users.js';

/**
 * Frappe's User -> API Access -> Generate Keys. The api_key is created once
 * and kept; every call issues a new secret that replaces the old one at once.
 * Frappe answers only `api_secret`; we add `api_key` (a superset, so Frappe
 * clients keep working). The secret is returned here and never again.
 */
export const generateKeys = method<{ user: string }>({
  name: 'frappe.core.doctype.user.user.generate_keys',
  summary: "Issue a new api_secret for a user, creating the user's api_key on first use.",
  roles: [SYSTEM_MANAGER],
  readOnly: false,
  async handler({ user }, { services, log }) {
    const target = await services.storage.users.get(user);
    const apiSecret = newApiSecret();
    const key = await services.storage.keys.issueSecret(target, hashSecret(apiSecret));
    log.info({ target: user, api_key: key.api_key }, 'api secret issued');
    return { api_key: key.api_key, api_secret: apiSecret };
  },
});
