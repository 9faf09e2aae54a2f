import { method } from '../rpc/spec.js';
import { AppError } from '../errors.js';
import { hashSecret, newApiSecret } from '../auth/token.js';
import { SYSTEM_MANAGER } from '../store/users.js';
import { keyInfo } from '../store/keys.js';
import { audited } from './audit.js';
import { futureDate } from './dates.js';

interface Params {
  user: string;
  expires_at?: string | null;
  scopes?: string[];
  grace_seconds?: number;
}

/**
 * Frappe's User -> API Access -> Generate Keys. The api_key is created once
 * and kept; every call issues a new secret. The old secret stops working at
 * once, or after `grace_seconds` so services can roll the new one out
 * without downtime. Frappe answers only `api_secret`; we add the rest (a
 * superset, so Frappe clients keep working). The secret is returned here
 * and never again.
 */
export const generateKeys = method<Params>({
  name: 'frappe.core.doctype.user.user.generate_keys',
  summary: "Issue a new api_secret for a user, creating the user's api_key on first use.",
  roles: [SYSTEM_MANAGER],
  readOnly: false,
  errors: ['not_found', 'conflict'],
  async handler({ user, expires_at, scopes, grace_seconds = 0 }, ctx) {
    const { services, log } = ctx;
    if (grace_seconds > services.limits.maxGraceSeconds) {
      throw new AppError('invalid_params', 'Invalid params', [
        { path: '/grace_seconds', message: `must be at most ${services.limits.maxGraceSeconds} (MAX_GRACE_SECONDS)` },
      ]);
    }
    const target = await services.storage.users.get(user);
    const apiSecret = newApiSecret();
    const { key, created } = await services.storage.keys.issueSecret(target, hashSecret(apiSecret), {
      expiresAt: futureDate(expires_at, '/expires_at'),
      scopes,
      graceSeconds: grace_seconds,
    });
    log.info({ target: user, api_key: key.api_key, grace_seconds }, created ? 'api key created' : 'api secret rotated');
    await audited(ctx, created ? 'keys.generate' : 'keys.rotate', user, key.api_key);
    const info = keyInfo(key);
    return {
      api_key: key.api_key,
      api_secret: apiSecret,
      expires_at: info.expires_at,
      scopes: info.scopes,
      previous_valid_until: info.previous_valid_until,
    };
  },
});
