import { method, type CallContext } from '../rpc/spec.js';
import { SYSTEM_MANAGER } from '../store/users.js';
import type { AuditAction } from '../store/audit.js';

/**
 * Records a change that has just been made. Without transactions the change
 * and its record are two writes; the change is done by now, so failing the
 * call would only invite a retry that changes things twice. A record that
 * cannot be written is logged at error level (and so alerted on) instead.
 */
export async function audited(ctx: CallContext, action: AuditAction, target: string, apiKey?: string): Promise<void> {
  const entry = {
    at: new Date(),
    actor: ctx.caller.user,
    action,
    target,
    ...(apiKey === undefined ? {} : { api_key: apiKey }),
    address: ctx.address,
    request_id: ctx.requestId,
  };
  try {
    await ctx.services.storage.audit.record(entry);
  } catch (err) {
    ctx.log.error({ err, audit: entry }, 'audit record not written');
  }
}

export const auditList = method({
  name: 'auth.audit.list',
  summary: 'Read the audit log of user and key changes, newest first.',
  roles: [SYSTEM_MANAGER],
  readOnly: true,
  async handler({ start = 0, limit = 20, user, action }, { services }) {
    return services.storage.audit.list(start, limit, user, action);
  },
});
