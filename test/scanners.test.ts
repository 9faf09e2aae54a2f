/**
 * The scanner rules in docs/scanners/, run by the REAL scanners: gitleaks
 * (docs/scanners/gitleaks.toml on top of gitleaks' own rules) and Yelp's
 * detect-secrets (docs/scanners/tas_detector.py, which also checks the CRC-32).
 *
 * One file holds 100 secrets made by the service's own newApiSecret (half in
 * key:secret tokens, half bare) and 100 near-misses (wrong checksum, wrong
 * prefix, truncated), one a line amid the text of configs, logs and shell
 * commands. Each scanner runs as a subprocess and its JSON report is read:
 * every secret must be found by both; a wrong checksum is reported by gitleaks
 * (a regular expression cannot compute one) and never by detect-secrets; a wrong
 * prefix or a truncated secret by neither. Only our rule's findings count: the
 * scanners' own generic rules also flag some lines (see docs/scanners/README.md).
 *
 * scripts/scanners.sh installs both at pinned versions into a per-user cache
 * (.ci/run runs it first); when it cannot, this file fails, saying why.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { isWellFormedSecret, newApiKey, newApiSecret } from '../src/auth/token.js';
import { BASE62 } from '../src/store/api-key.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const GITLEAKS_CONFIG = path.join(ROOT, 'docs/scanners/gitleaks.toml');
const PLUGIN = path.join(ROOT, 'docs/scanners/tas_detector.py');
const GITLEAKS_RULE = 'tokenauth-api-secret';
const DETECT_SECRETS_TYPE = 'tokenauth API secret';

type Kind = 'secret' | 'bad-checksum' | 'wrong-prefix' | 'truncated';
interface Planted {
  kind: Kind;
  /** The candidate string as written (the secret part, without a key). */
  value: string;
  /** The whole key:secret when written as a token. */
  token?: string;
  line: number;
}

/** Where a line of a config, a log or a shell session would hold a secret or a token. */
const BARE_LINES: ((s: string) => string)[] = [
  (s) => `TOKENAUTH_API_SECRET=${s}`,
  (s) => `  "api_secret": "${s}",`,
  (s) => `    api_secret: '${s}'  # rotate before June`,
  (s) => `2025-06-01T10:42:17.301Z WARN client sent secret ${s} without a key`,
  (s) => `| staging | ${s} | ann@example.com |`,
  (s) => `secrets = ["${s}"]`,
];
const TOKEN_LINES: ((t: string) => string)[] = [
  (t) => `Authorization: token ${t}`,
  (t) => `curl -s -H 'Authorization: token ${t}' https://tokenauth.example.com/api/method/frappe.auth.get_logged_user`,
  (t) => `export TOKENAUTH_TOKEN="${t}"`,
  (t) => `{"level":"info","msg":"retrying with token ${t}","attempt":2}`,
  (t) => `TOKEN=${t} npm run deploy`,
];

/** One character of `s` at `at` replaced by a different base62 one. */
function alter(s: string, at: number): string {
  const c = s.charAt(at);
  const other = BASE62.charAt((BASE62.indexOf(c) + 1 + Math.floor(Math.random() * 61)) % 62);
  return s.slice(0, at) + other + s.slice(at + 1);
}

/** Prefixes a careless copy or a look-alike format would have: each differs from `tas_` while keeping 30 alphanumerics after. */
const WRONG_PREFIXES = ['tax_', 'TAS_', 'tas-', 'tak_', 'Tas_', 'tas', 'ts_', 'xtas_', 'tas__', 'sat_', 'tas.'];

function nearMiss(kind: Exclude<Kind, 'secret'>, i: number): string {
  const real = newApiSecret();
  switch (kind) {
    // Half a slip in the checksum, half in the body (which the checksum then no longer matches).
    case 'bad-checksum':
      return alter(real, i % 2 ? real.length - 1 - (i % 6) : 4 + (i % 24));
    case 'wrong-prefix':
      return WRONG_PREFIXES[i % WRONG_PREFIXES.length]! + real.slice(4);
    // From one character short to half the secret gone.
    case 'truncated':
      return real.slice(0, real.length - 1 - (i % 17));
  }
}

/** 100 secrets and 100 near-misses, one a line, in an order that mixes them; the file's text and what each line holds. */
function plant(): { text: string; planted: Planted[] } {
  const candidates: Omit<Planted, 'line'>[] = [];
  const kinds: [Exclude<Kind, 'secret'>, number][] = [
    ['bad-checksum', 34],
    ['wrong-prefix', 33],
    ['truncated', 33],
  ];
  for (let i = 0; i < 100; i++) candidates.push({ kind: 'secret', value: newApiSecret() });
  for (const [kind, count] of kinds) for (let i = 0; i < count; i++) candidates.push({ kind, value: nearMiss(kind, i) });
  const lines = ['# tokenauth clients, staging and production', ''];
  const planted: Planted[] = [];
  // Interleaved (secret, near-miss, secret, ...) so a scanner that stops early or skips lines shows up; every other pair written inside key:secret tokens.
  const order = candidates.slice(0, 100).flatMap((c, i) => [c, candidates[100 + i]!]);
  order.forEach((c, i) => {
    const asToken = i % 4 < 2;
    const token = asToken ? `${newApiKey()}:${c.value}` : undefined;
    lines.push(token ? TOKEN_LINES[i % TOKEN_LINES.length]!(token) : BARE_LINES[i % BARE_LINES.length]!(c.value));
    planted.push({ ...c, ...(token ? { token } : {}), line: lines.length });
    if (i % 7 === 6) lines.push('', '# --');
  });
  return { text: lines.join('\n') + '\n', planted };
}

function run(file: string, args: string[], okCodes: number[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (!okCodes.includes(code)) reject(new Error(`${path.basename(file)} ${args.join(' ')} exited ${code}: ${err?.message ?? ''}\n${stderr}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const count = (planted: Planted[], kind: Kind) => planted.filter((p) => p.kind === kind).length;
const summary = (reported: (kind: Kind) => number) =>
  `${reported('bad-checksum')}/34 wrong checksum, ${reported('wrong-prefix')}/33 wrong prefix, ${reported('truncated')}/33 truncated`;

describe('scanner rules (docs/scanners) with the real gitleaks and detect-secrets', function () {
  // The first run on a machine builds gitleaks and installs detect-secrets (about 90 s with nothing cached); later runs find them cached.
  this.timeout(300_000);
  let gitleaks: string;
  let python: string;
  let dir: string;
  let file: string;
  let planted: Planted[];

  before(() => {
    let out: string;
    try {
      out = execFileSync('bash', [path.join(ROOT, 'scripts/scanners.sh')], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 280_000,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`the scanners could not be installed (scripts/scanners.sh), so their rules cannot be tested:\n${e.stderr || e.message}`);
    }
    const paths = new Map(
      out
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    gitleaks = paths.get('gitleaks')!;
    python = paths.get('detect-secrets')!;
    expect(gitleaks, out).to.be.a('string');
    expect(python, out).to.be.a('string');

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenauth-scanners-'));
    file = path.join(dir, 'deploy-notes.txt');
    const made = plant();
    planted = made.planted;
    fs.writeFileSync(file, made.text);
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('the file holds what it says: 100 secrets the service accepts, 100 near-misses it refuses', () => {
    expect(planted).to.have.length(200);
    for (const p of planted) expect(isWellFormedSecret(p.value), `${p.kind} ${p.value}`).to.equal(p.kind === 'secret');
    expect(count(planted, 'secret')).to.equal(100);
    expect(planted.filter((p) => p.kind === 'secret' && p.token)).to.have.length(50);
    expect([count(planted, 'bad-checksum'), count(planted, 'wrong-prefix'), count(planted, 'truncated')]).to.deep.equal([34, 33, 33]);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const p of planted) expect(lines[p.line - 1], `line ${p.line}`).to.include(p.token ?? p.value);
  });

  it('gitleaks finds every secret (with its key when in a token); of the near-misses only the wrong checksums, which it cannot check', async () => {
    const report = path.join(dir, 'gitleaks.json');
    // Exit code 1 is gitleaks saying "leaks found": what fails a CI job or a commit.
    await run(
      gitleaks,
      ['dir', '--config', GITLEAKS_CONFIG, '--no-banner', '--log-level', 'error', '--report-format', 'json', '--report-path', report, file],
      [1],
    );
    const findings = (JSON.parse(fs.readFileSync(report, 'utf8')) as { RuleID: string; Secret: string; Match: string; StartLine: number }[]).filter(
      (f) => f.RuleID === GITLEAKS_RULE,
    );
    const byLine = new Map(findings.map((f) => [f.StartLine, f]));
    expect(byLine.size, 'one finding a line').to.equal(findings.length);

    const missed = planted.filter((p) => p.kind === 'secret' && byLine.get(p.line)?.Secret !== p.value);
    const reported = (kind: Kind) => planted.filter((p) => p.kind === kind && byLine.has(p.line)).length;
    console.log(`      gitleaks: ${100 - missed.length}/100 secrets found; near-misses reported: ${summary(reported)}`);
    expect(
      missed.map((p) => `line ${p.line}`),
      'secrets gitleaks missed',
    ).to.deep.equal([]);
    for (const p of planted.filter((q) => q.kind === 'secret' && q.token)) expect(byLine.get(p.line)!.Match, `line ${p.line}`).to.equal(p.token);
    expect(reported('bad-checksum'), 'wrong checksums: the shape is right, and a regular expression cannot tell').to.equal(34);
    expect(reported('wrong-prefix'), 'wrong prefixes reported').to.equal(0);
    expect(reported('truncated'), 'truncated secrets reported').to.equal(0);
    expect(findings).to.have.length(134);
  });

  it('detect-secrets with tas_detector.py finds every secret and reports no near-miss: it checks the CRC-32', async () => {
    // Run from the file's folder: inside a git work tree, `scan` reads only the files git tracks.
    const { stdout } = await run(python, ['-m', 'detect_secrets', 'scan', '--plugin', PLUGIN, file], [0], dir);
    const baseline = JSON.parse(stdout) as {
      plugins_used: { name: string; path?: string }[];
      results: Record<string, { type: string; hashed_secret: string; line_number: number }[]>;
    };
    expect(
      baseline.plugins_used.map((p) => p.name),
      'the plugin was loaded',
    ).to.include('TokenauthSecretDetector');
    // The report names each secret by its SHA-1, never the secret itself.
    const findings = Object.values(baseline.results)
      .flat()
      .filter((f) => f.type === DETECT_SECRETS_TYPE);
    const byHash = new Map(findings.map((f) => [f.hashed_secret, f.line_number]));

    const missed = planted.filter((p) => p.kind === 'secret' && byHash.get(sha1(p.value)) !== p.line);
    const reported = (kind: Kind) => planted.filter((p) => p.kind === kind && byHash.has(sha1(p.value))).length;
    console.log(`      detect-secrets: ${100 - missed.length}/100 secrets found; near-misses reported: ${summary(reported)}`);
    expect(
      missed.map((p) => `line ${p.line}`),
      'secrets detect-secrets missed',
    ).to.deep.equal([]);
    expect(reported('bad-checksum'), 'wrong checksums reported').to.equal(0);
    expect(reported('wrong-prefix'), 'wrong prefixes reported').to.equal(0);
    expect(reported('truncated'), 'truncated secrets reported').to.equal(0);
    expect(findings).to.have.length(100);
  });

  it('as pre-commit hooks, set up as docs/scanners/README.md says: both refuse a file with a secret and pass one with only near-misses', async () => {
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { stdio: 'pipe' });
    git('init', '-q');
    const secret = planted.find((p) => p.kind === 'secret' && p.token)!;
    const misses = planted.filter((p) => p.kind !== 'secret' && p.kind !== 'bad-checksum').map((p) => p.value);
    fs.writeFileSync(path.join(repo, 'clean.env'), misses.map((m) => `note: ${m}`).join('\n') + '\n');
    fs.writeFileSync(path.join(repo, 'leak.env'), `TOKENAUTH_TOKEN=${secret.token!}\n`);

    const gitleaksHook = (file: string, code: number) => {
      git('reset', '-q');
      git('add', file);
      return run(gitleaks, ['git', '--pre-commit', '--staged', '--config', GITLEAKS_CONFIG, '--no-banner', '--log-level', 'error', '--redact', repo], [code]);
    };
    await gitleaksHook('clean.env', 0);
    await gitleaksHook('leak.env', 1);

    // detect-secrets as the README sets it up: the plugin copied into the repository, a baseline made with it, and
    // the baseline's absolute plugin path made relative to the repository, so the hook finds it on every clone.
    fs.copyFileSync(PLUGIN, path.join(repo, 'tas_detector.py'));
    git('reset', '-q');
    git('add', 'tas_detector.py', 'clean.env');
    const scanned = await run(python, ['-m', 'detect_secrets', 'scan', '--plugin', 'tas_detector.py'], [0], repo);
    const baseline = scanned.stdout.replace(`file://${path.join(fs.realpathSync(repo), 'tas_detector.py')}`, 'file://tas_detector.py');
    expect(baseline).to.include('"path": "file://tas_detector.py"');
    fs.writeFileSync(path.join(repo, '.secrets.baseline'), baseline);
    const hook = (file: string, code: number) => run(python, ['-m', 'detect_secrets.pre_commit_hook', '--baseline', '.secrets.baseline', file], [code], repo);
    await hook('clean.env', 0);
    const { stdout } = await hook('leak.env', 1);
    expect(stdout).to.include(`Secret Type: ${DETECT_SECRETS_TYPE}`);
    expect(stdout, 'the hook names the place, never the secret').to.not.include(secret.value);
  });
});
