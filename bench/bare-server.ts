/**
 * The baseline: a bare jayson HTTP server answering a no-op method, nothing
 * else (no token check, no validation, no logging, no database).
 */
import jayson from 'jayson';

const server = new jayson.Server({
  noop: (_params: unknown, done: (err: unknown, result?: unknown) => void) => done(null, 'Administrator'),
});
const port = Number(process.env.PORT);
server.http().listen(port, '127.0.0.1', () => process.send?.('ready'));
