import { expect } from 'chai';
import { useService } from './harness.js';
import { soak } from '../bench/soak-run.js';

describe('soak (short): mixed load, then nothing lost', function () {
  this.timeout(120_000);
  const svc = useService({ authFailureLimit: 20 });

  it('keeps every live key working and every revoked or replaced secret refused, with no 5xx', async () => {
    const report = await soak({ url: svc.url, adminToken: svc.adminToken, durationMs: Number(process.env.SOAK_MS ?? 15_000), workers: 6 });
    expect(report.violations, report.violations.join('\n')).to.deep.equal([]);
    expect(report.server5xx).to.equal(0);
    expect(report.finalCheck.failed).to.equal(0);
    expect(report.finalCheck.live).to.be.above(0);
    expect(report.byKind.rotate ?? 0).to.be.above(0);
    expect(report.byKind['valid call'] ?? 0).to.be.above(100);
  });
});
