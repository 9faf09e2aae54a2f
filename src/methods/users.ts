import { method } from '../rpc/spec.js';
import { AppError } from '../errors.js';
import { ADMINISTRATOR, SYSTEM_MANAGER, publicUser, type NewUser, type UserChanges } from '../store/users.js';

const managers = [SYSTEM_MANAGER];

export const userCreate = method<NewUser>({
  name: 'user.create',
  summary: 'Create a user.',
  roles: managers,
  readOnly: false,
  async handler(params, { services, log }) {
    const user = await services.storage.users.create(params);
    log.info({ target: user.name }, 'user created');
    return publicUser(user);
  },
});

export const userGet = method<{ name: string }>({
  name: 'user.get',
  summary: 'Read one user.',
  roles: managers,
  readOnly: true,
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

export const userUpdate = method<{ name: string } & UserChanges>({
  name: 'user.update',
  summary: "Change a user's full name, roles or enabled flag.",
  roles: managers,
  readOnly: false,
  async handler({ name, ...changes }, { services, log }) {
    guardAdministrator(name, changes);
    const user = await services.storage.users.update(name, changes);
    log.info({ target: name, fields: Object.keys(changes) }, 'user updated');
    return publicUser(user);
  },
});

export const userDelete = method<{ name: string }>({
  name: 'user.delete',
  summary: 'Delete a user and its keys.',
  roles: managers,
  readOnly: false,
  async handler({ name }, { services, log }) {
    if (name === ADMINISTRATOR) throw new AppError('permission_denied', `${ADMINISTRATOR} cannot be deleted`);
    await services.storage.users.delete(name, (err) =>
      log.warn({ target: name, err }, 'user deleted; its keys stay until first presented (removing them failed)'),
    );
    log.info({ target: name }, 'user deleted');
    return { name, deleted: true };
  },
});
