/**
 * The floors of src/ and the rule between them: a file imports only from its
 * own floor, the floors below it, and the shared leaves; and no import goes
 * round in a circle. `npm run layers` checks it (dependency-cruiser), and
 * `npm test` runs that before mocha. docs/development.md#layers says it in words.
 *
 * Type-only imports count: a floor that needs a type from above is as tangled
 * as one that needs a function.
 */

// Top to bottom.
const ENTRY = '^src/(main|cli|cluster|app)[.]ts$';
/** The HTTP doors and the JSON-RPC door. */
const DOORS = ['^src/http/', '^src/rpc/(jsonrpc|envelope)[.]ts$'];
/** The method core: the rest of src/rpc/ (spec, dispatch, schemas, openrpc, call-log, row-rate) and the methods. */
const CORE = ['^src/rpc/(?!(jsonrpc|envelope)[.]ts$)', '^src/methods/'];
const AUTH = '^src/auth/';
/** MongoDB access, and the local database started when MONGODB_URI is unset. */
const STORAGE = ['^src/store/', '^src/localdb/'];
/** Imported by anyone; import only each other. */
const LEAVES = '^src/(errors|log|config|metrics|paths|ip)[.]ts$';

const ALL = [ENTRY, ...DOORS, ...CORE, AUTH, ...STORAGE, LEAVES];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only ones included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'on-a-floor',
      severity: 'error',
      comment: 'Every file of src/ is on a floor (or a shared leaf): place a new one in .dependency-cruiser.cjs.',
      from: { path: '^src/', pathNot: ALL },
      to: {},
    },
    {
      name: 'on-a-floor',
      severity: 'error',
      from: {},
      to: { path: '^src/', pathNot: ALL },
    },
    {
      name: 'doors-import-nothing-above',
      severity: 'error',
      comment: 'The doors (src/http/, the JSON-RPC door) never import an entry point.',
      from: { path: DOORS },
      to: { path: ENTRY },
    },
    {
      name: 'core-imports-nothing-above',
      severity: 'error',
      comment: 'The method core never imports a door or an entry point.',
      from: { path: CORE },
      to: { path: [ENTRY, ...DOORS] },
    },
    {
      name: 'auth-imports-nothing-above',
      severity: 'error',
      comment: 'Auth never imports the method core, a door or an entry point.',
      from: { path: AUTH },
      to: { path: [ENTRY, ...DOORS, ...CORE] },
    },
    {
      name: 'storage-imports-nothing-above',
      severity: 'error',
      comment: 'Storage is the bottom floor: it imports only itself and the shared leaves.',
      from: { path: STORAGE },
      to: { path: [ENTRY, ...DOORS, ...CORE, AUTH] },
    },
    {
      name: 'leaves-import-only-leaves',
      severity: 'error',
      comment: 'errors, log, config, metrics, paths and ip are imported by anyone, so they import none of the floors.',
      from: { path: LEAVES },
      to: { path: '^src/', pathNot: LEAVES },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import the checker cannot resolve would slip past every rule above.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Resolve packages as Node does for an ES module.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
