/**
 * The service on several cores: node:cluster forks WORKERS copies of
 * dist/main.js sharing one port. Used only by the benchmark, to decide
 * whether clustering pays on this machine.
 */
import cluster from 'node:cluster';
import path from 'node:path';

const workers = Number(process.env.WORKERS ?? 2);
cluster.setupPrimary({ exec: path.resolve('dist/main.js') });
for (let i = 0; i < workers; i++) cluster.fork();
process.on('SIGTERM', () => {
  for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  process.exit(0);
});
