import { describe, expect, it } from 'vitest';
import type { LockHolder } from '../queue/coordination.ts';
import { LocalHolds } from './local-holds.ts';

const holder = (requestId: string, domain = 'web'): LockHolder => ({
  requestId,
  person: 'alice',
  command: 'stop',
  host: 'xen1',
  domain,
  reason: 'stop',
  since: 0,
});

describe('LocalHolds', () => {
  it('one request per domain; the same request may take it again; dropped only by its own request', () => {
    const holds = new LocalHolds();
    expect(holds.take(holder('r1'))).toBeNull();
    expect(holds.take(holder('r1'))).toBeNull();
    expect(holds.take(holder('r2'))).toMatchObject({ requestId: 'r1' });
    expect(holds.take(holder('r2', 'mail'))).toBeNull();
    holds.drop('web', 'r2');
    expect(holds.take(holder('r3'))).toMatchObject({ requestId: 'r1' });
    holds.drop('web', 'r1');
    expect(holds.take(holder('r3'))).toBeNull();
  });
});
