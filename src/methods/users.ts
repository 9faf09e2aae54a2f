import { method } from '../rpc/spec.js';
import { AppError } from '../errors.js';
import { audited } from './audit.js';
import { checkUserChange, checkUserDelete, restricted } from '../auth/containment.js';
import { ADMINISTRATOR, SYSTEM_MANAGER, publicUser, type UserChanges } from '../store/users.js';

const managers = [SYSTEM_MANAGER];

export const userCreate = method({
  name: 'user.create',
  summary: 'Create a user.',
  roles: managers,
  readOnly: false,
  errors: ['conflict'],
  async handler(params, ctx) {
    checkUserChange(ctx.caller, params); // roles only from an unrestricted token
    const user = await ctx.services.storage.users.create(params);
    ctx.log.info({ target: user.name }, 'user created');
    await audited(ctx, 'user.create', user.name);
    return publicUser(user);
  },
});

export const userGet = method({
  name: 'user.get',
  summary: 'Read one user.',
  roles: managers,
  readOnly: true,
  errors: ['not_found'],
  async handler({ name }, { services }) {
    return publicUser(await services.storage.users.get(name));
  },
});

/** Administrator is the way back in: it can be neither disabled nor stripped of System Manager. */
function guardAdministrator(name: string, changes: UserChanges): void {
  if (name !== ADMINISTRATOR) return;
  if (changes.enabled === false || (changes.roles && !changes.roles.includes(SYSTEM_MANAGER))) {
    throw new AppError('permission_denied', `${ADMINISTRATOR} must stay enabled and keep the role ${SYSTEM_MANAGER}`);
  }
}

export const userUpdate = method({
  name: 'user.update',
  summary: "Change a user's full name, roles or enabled flag.",
  roles: managers,
  readOnly: false,
  errors: ['not_found'],
  async handler({ name, ...asked }, ctx) {
    guardAdministrator(name, asked);
    // A restricted token may not grant or remove roles, or enable a user;
    // what it sends unchanged is dropped (see checkUserChange).
    const changes = restricted(ctx.caller) ? checkUserChange(ctx.caller, asked, await ctx.services.storage.users.get(name)) : asked;
    const user = await ctx.services.storage.users.update(name, changes);
    ctx.log.info({ target: name, fields: Object.keys(changes) }, 'user updated');
    await audited(ctx, 'user.update', name);
    return publicUser(user);
  },
});

export const userDelete = method({
  name: 'user.delete',
  summary: 'Delete a user and its keys.',
  roles: managers,
  readOnly: false,
  errors: ['not_found'],
  async handler({ name }, ctx) {
    if (name === ADMINISTRATOR) throw new AppError('permission_denied', `${ADMINISTRATOR} cannot be deleted`);
    if (restricted(ctx.caller)) checkUserDelete(ctx.caller, await ctx.services.storage.users.get(name));
    const user = await ctx.services.storage.users.delete(name);
    await ctx.services.storage.keys
      .deleteOwnedBy(user._id)
      .catch((err: unknown) => ctx.log.warn({ target: name, err }, 'user deleted; its keys stay until first presented (removing them failed)'));
    ctx.log.info({ target: name }, 'user deleted');
    await audited(ctx, 'user.delete', name);
    return { name, deleted: true };
  },
});
