// SPEC=test/a.test.ts,test/b.test.ts runs only those files (a positional
// path would be added to the spec below, not replace it). The spec reaches
// subfolders: test/methods/<method>.test.ts (see test/README.md).
module.exports = {
  'node-option': ['import=tsx'],
  require: ['test/global-database.ts'],
  spec: process.env.SPEC ? process.env.SPEC.split(',') : ['test/**/*.test.ts'],
  timeout: 30000,
  reporter: 'spec',
};
