/**
 * THE method table. Every door (JSON-RPC, Frappe's REST paths, the CLI, the
 * web page, discovery) reads this list and nothing else. Adding a method: a
 * handler file, its two schema files in schemas/ (then `npm run
 * schema-types`: the handler is typed by them), one line here, its tests.
 */
import type { MethodSpec } from '../rpc/spec.js';
import { generateKeys } from './generate-keys.js';
import { authVerify } from './auth-verify.js';
import { getLoggedUser } from './get-logged-user.js';
import { userCreate, userGet, userUpdate, userDelete } from './users.js';
import { userList } from './user-list.js';
import { keysGet, keysList, keysUpdate, keysRevoke } from './keys.js';
import { auditList } from './audit.js';
import { keysReportLeak } from './leaks.js';
import { rpcDiscover } from './discover.js';
import {
  frappeGetList,
  frappeGetCount,
  frappeGet,
  frappeGetValue,
  frappeSetValue,
  frappeInsert,
  frappeInsertMany,
  frappeSave,
  frappeDelete,
} from './frappe-client.js';

export const methodTable: readonly MethodSpec[] = [
  generateKeys,
  authVerify,
  getLoggedUser,
  userCreate,
  userGet,
  userList,
  userUpdate,
  userDelete,
  keysGet,
  keysList,
  keysUpdate,
  keysRevoke,
  keysReportLeak,
  auditList,
  rpcDiscover(() => methodTable),
  // Frappe's client API (frappe/client.py), for User: frappe-client.ts.
  frappeGetList,
  frappeGetCount,
  frappeGet,
  frappeGetValue,
  frappeSetValue,
  frappeInsert,
  frappeInsertMany,
  frappeSave,
  frappeDelete,
];
