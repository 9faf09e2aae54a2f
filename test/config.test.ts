import { expect } from 'chai';
import { loadConfig, dbNameFromUri, ConfigError } from '../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).to.include({ port: 8000, host: '127.0.0.1', dbName: 'tokenauth', logLevel: 'info' });
    expect(c.mongodbUri).to.equal(undefined);
  });

  it('takes the database name from the URI path', () => {
    expect(loadConfig({ MONGODB_URI: 'mongodb://db:27017/keys?retryWrites=true' }).dbName).to.equal('keys');
    expect(loadConfig({ MONGODB_URI: 'mongodb://a:1,b:2/' }).dbName).to.equal('tokenauth');
    expect(dbNameFromUri('mongodb+srv://user:pw@cluster.example/prod')).to.equal('prod');
  });

  it('reads TRUSTED_PROXIES as canonical ranges; unset: none', () => {
    expect(loadConfig({}).trustedProxies).to.deep.equal([]);
    expect(loadConfig({ TRUSTED_PROXIES: ' 10.0.0.0/8, FD00::/8,::ffff:192.0.2.1 ,' }).trustedProxies).to.deep.equal(['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
  });

  it('names the variable and the bad value', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'eighty' }, /PORT must be an integer from 0 to 65535 \(got "eighty"\)/],
      [{ PORT: '70000' }, /PORT/],
      [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of .*got "loud"/],
      [{ MONGODB_URI: 'postgres://x/y' }, /MONGODB_URI must look like mongodb:\/\//],
      [{ MONGODB_URI: 'mongodb://x/bad.name' }, /database name/],
      [{ HOST: 'a b' }, /HOST/],
      [{ TRUSTED_PROXIES: '10.0.0.0/8,proxy.internal' }, /^TRUSTED_PROXIES: "proxy.internal" is not an IP address or CIDR range/],
      [{ TRUSTED_PROXIES: '10.0.0.1/8' }, /^TRUSTED_PROXIES: "10.0.0.1\/8" has bits set past its \/8: the range is 10.0.0.0\/8$/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadConfig(env), JSON.stringify(env)).to.throw(ConfigError, message);
    }
  });
});
