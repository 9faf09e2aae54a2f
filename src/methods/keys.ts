// PLACEHOLDER (lead is writing it): auth.keys.*
import { method } from '../rpc/spec.js';
import { AppError } from '../errors.js';
import { SYSTEM_MANAGER } from '../store/users.js';
const todo = async (): Promise<never> => { throw new AppError('internal', 'not built yet'); };
export const keysGet = method({ name: 'auth.keys.get', summary: "Read a user's key metadata.", roles: [], readOnly: true, errors: ['not_found'], handler: todo });
export const keysList = method({ name: 'auth.keys.list', summary: 'List keys.', roles: [SYSTEM_MANAGER], readOnly: true, handler: todo });
export const keysUpdate = method({ name: 'auth.keys.update', summary: "Change a key's expiry or scopes.", roles: [SYSTEM_MANAGER], readOnly: false, errors: ['not_found'], handler: todo });
export const keysRevoke = method({ name: 'auth.keys.revoke', summary: "Revoke a user's key pair.", roles: [], readOnly: false, errors: ['not_found'], handler: todo });
