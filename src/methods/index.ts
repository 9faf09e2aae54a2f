/**
 * THE method table. Every door (JSON-RPC, CLI, and later REST and the web
 * page) reads this list and nothing else. Adding a method: a handler file, its
 * two schema files in schemas/, one line here, its tests.
 */
import type { MethodSpec } from '../rpc/spec.js';
import { generateKeys } from './generate-keys.js';
import { authVerify } from './auth-verify.js';
import { getLoggedUser } from './get-logged-user.js';
import { userCreate, userGet, userList, userUpdate, userDelete } from './users.js';

export const methodTable: readonly MethodSpec[] = [
  generateKeys,
  authVerify,
  getLoggedUser,
  userCreate,
  userGet,
  userList,
  userUpdate,
  userDelete,
];
