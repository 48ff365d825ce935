import { describe, expect, it } from 'vitest';
import { scopeResult } from './pipeline.ts';

describe('scopeResult (a read shown to someone allowed only some domains)', () => {
  const mayName = (d: string) => d.startsWith('files');
  it('filters every list of named rows and the lines of text that name a domain left out', () => {
    const result = {
      host: 'xen2',
      domains: [{ name: 'files1' }, { name: 'backup' }, { name: 'Domain-0' }],
      busiest: [{ name: 'backup', cpuPercent: 90 }],
      notes: ['could not read the config of backup', 'files1: no autostart link'],
      domainsByStatus: { running: 3 },
    };
    expect(scopeResult(result, mayName)).toEqual({
      host: 'xen2',
      domains: [{ name: 'files1' }],
      busiest: [],
      notes: ['files1: no autostart link'],
      domainsByStatus: { running: 3 },
    });
  });
  it('drops a line naming a left-out domain as a whole word only (backup, not backup2)', () => {
    const result = { domains: [{ name: 'files1' }, { name: 'backup' }], notes: ['backup: unreadable', 'files1: backup2 is a sibling'] };
    expect(scopeResult(result, mayName).notes).toEqual(['files1: backup2 is a sibling']);
  });

  it("keeps a console snapshot's lines whole: the guest's own output, not lines the agent could not read", () => {
    const result = { host: 'xen2', domain: 'files1', source: 'log', lines: ['files1 login:', 'Ubuntu 22.04 LTS', 'say "hello"'] };
    expect(scopeResult(result, mayName)).toEqual(result);
  });

  it('leaves a result with nothing left out as it is', () => {
    // An unread line is kept when it starts with a name the person may see (one that does not is another guest's).
    const result = { host: 'xen2', rows: [{ name: 'files1', id: 3 }], unparsed: ['files1 odd line'] };
    expect(scopeResult(result, mayName)).toEqual(result);
  });
});
