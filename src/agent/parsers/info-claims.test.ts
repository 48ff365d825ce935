import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { memoryFromInfo, parseInfo } from './info.ts';

/**
 * Free memory with outstanding claims (a domain being built with xl.conf's claim_mode, on by default). xl prints
 * `free_memory` as (free_pages − outstanding_pages) and `outstanding_claims` beside it (xen tools/xl/xl_info.c
 * output_physinfo, the same since Xen 4.3; xl.conf(5) claim_mode: "The free memory in xl info is the combination of
 * the hypervisor's free heap memory minus the outstanding claims value"). The claimed memory is thus already out of
 * free_memory: what /status shows and placements plan from must be free_memory as printed.
 */
const xlInfoWithClaims = (free: number, claims: number) =>
  fixture('xl-info__xensifter-test-xen-4.18.0.txt')
    .replace(/^free_memory +: \d+$/m, `free_memory            : ${free}`)
    .replace(/^outstanding_claims +: \d+$/m, `outstanding_claims     : ${claims}`);

describe('memoryFromInfo and outstanding claims', () => {
  it('takes free_memory as xl prints it: the claims are already taken out of it, not taken out twice', () => {
    // 507728 MiB free in the hypervisor's heap, 8192 MiB of it claimed by a domain being built: xl prints 499536.
    const info = parseInfo(xlInfoWithClaims(499536, 8192));
    expect(info['outstanding_claims']).toBe('8192');
    expect(memoryFromInfo(info)).toEqual({ totalMiB: 522954, freeMiB: 499536 });
  });

  it('the real samples: no claims (4.18), no claims field at all (xl 4.0.1, xm on OVM 4.4)', () => {
    expect(memoryFromInfo(parseInfo(fixture('xl-info__xensifter-test-xen-4.18.0.txt')))).toEqual({ totalMiB: 522954, freeMiB: 507728 });
    expect(memoryFromInfo(parseInfo(fixture('xl-info__ganeti-xen-4.0.1.txt')))).toEqual({ totalMiB: 16378, freeMiB: 8004 });
    expect(memoryFromInfo(parseInfo(fixture('xm-info__exabox-ovm-xen-4.4.4OVM.txt')))).toEqual({ totalMiB: 262010, freeMiB: 131462 });
  });
});
