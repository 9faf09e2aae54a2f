// PLACEHOLDER (lead is writing it): auth.audit.list
import { method } from '../rpc/spec.js';
import { AppError } from '../errors.js';
import { SYSTEM_MANAGER } from '../store/users.js';
export const auditList = method({ name: 'auth.audit.list', summary: 'Read the audit log, newest first.', roles: [SYSTEM_MANAGER], readOnly: true, handler: async (): Promise<never> => { throw new AppError('internal', 'not built yet'); } });
