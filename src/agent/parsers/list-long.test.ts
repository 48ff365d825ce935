import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { ParseError } from '../../core/errors.ts';
import { parseXlListLong, parseXmListLong, type XmLongDomain, xmUuidOf } from './list-long.ts';

describe('parseXlListLong', () => {
  it('reads a bare libxl domain config (libvirt fixture, TAB in indentation)', () => {
    expect(parseXlListLong(fixture('libxl-domain-config-json-pv__libvirt-libxlxml2domconfig.json'))).toEqual([
      {
        domid: null,
        name: 'test-pv',
        uuid: '039e9ee6-4a84-3055-4c81-8ba426ae2656',
        type: 'pv',
        maxVcpus: 4,
        maxMemKiB: 524288,
        targetMemKiB: 524288,
        disks: [{ vdev: 'xvda', target: '/var/lib/xen/images/test-pv.img' }],
        nics: [{ mac: '00:16:3e:3e:86:60', bridge: 'br0' }],
      },
    ]);
  });

  it('reads the xl list -l array shape with missing fields as null', () => {
    const text = JSON.stringify([{ domid: 7, config: { c_info: { name: 'web' } } }, { domid: 0 }]);
    expect(parseXlListLong(text)).toEqual([
      { domid: 7, name: 'web', uuid: null, type: null, maxVcpus: null, maxMemKiB: null, targetMemKiB: null, disks: [], nics: [] },
      { domid: 0, name: null, uuid: null, type: null, maxVcpus: null, maxMemKiB: null, targetMemKiB: null, disks: [], nics: [] },
    ]);
  });

  it('refuses SXP output with a hint', () => {
    expect(() => parseXlListLong(fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt'))).toThrow(ParseError);
    expect(() => parseXlListLong(fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt'))).toThrow(/output_format="sxp"/);
  });
});

describe('parseXmListLong', () => {
  const none: XmLongDomain = {
    domid: null,
    name: null,
    uuid: null,
    memoryMiB: null,
    maxMemoryMiB: null,
    vcpus: null,
    state: null,
    cpuSeconds: null,
  };
  const domain = (...entries: string[]) => `(domain\n${entries.map((e) => `    ${e}\n`).join('')})\n`;
  const failure = (text: string) => {
    try {
      parseXmListLong(text);
    } catch (error) {
      if (error instanceof ParseError) return error;
      throw error;
    }
    throw new Error('parsed without error');
  };

  it('reads the real xm list --long sample (Xen 4.0.1): dom0 and a guest, ignoring the device UUIDs', () => {
    expect(parseXmListLong(fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt'))).toEqual([
      {
        domid: 0,
        name: 'Domain-0',
        uuid: '00000000-0000-0000-0000-000000000000',
        memoryMiB: 1023,
        maxMemoryMiB: 16777215,
        vcpus: 24,
        state: 'r-----',
        cpuSeconds: 184000.41332,
      },
      {
        domid: 119,
        name: 'instance1.example.com',
        uuid: 'e430b4b8-dc91-9390-dfe0-b83c138ea0aa',
        memoryMiB: 128,
        maxMemoryMiB: 128,
        vcpus: 1,
        state: '-b----',
        cpuSeconds: 24.116146647,
      },
    ]);
  });

  it('reads a quoted name holding spaces and parentheses, and lower-cases the UUID', () => {
    const text = domain('(domid 3)', '(uuid E430B4B8-DC91-9390-DFE0-B83C138EA0AA)', "(name 'web (old) copy')", "(description 'a (b')");
    expect(parseXmListLong(text)).toEqual([{ ...none, domid: 3, name: 'web (old) copy', uuid: 'e430b4b8-dc91-9390-dfe0-b83c138ea0aa' }]);
  });

  it('leaves missing fields null: an inactive managed domain has no domid and no state; (uuid ) is an empty value', () => {
    expect(parseXmListLong(domain('(name parked)', '(memory 512)', '(status 0)'))).toEqual([{ ...none, name: 'parked', memoryMiB: 512 }]);
    expect(parseXmListLong(domain('(domid 4)', '(uuid )', '(name web)'))).toEqual([{ ...none, domid: 4, name: 'web' }]);
  });

  it('reads empty output as no domains', () => {
    expect(parseXmListLong('')).toEqual([]);
    expect(parseXmListLong('\n')).toEqual([]);
  });

  it('refuses truncated output instead of returning the domains it got so far', () => {
    const sample = fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt');
    const cut = sample.slice(0, sample.indexOf('(state -b----)'));
    const e = failure(cut);
    expect(e.message).toMatch(/^xm list -l: input ended before \(domain …\) opened on line 52 was closed/);
    expect(e.lineNumber).toBe(52);
  });

  it('refuses anything that is not a sequence of (domain …) lists', () => {
    expect(failure('Error: Unable to connect to xend: No such file or directory.\n').message).toMatch(
      /^xm list -l: expected a \(domain …\) list, found atom "Error:" \(line 1/,
    );
    expect(failure(`${domain('(domid 0)')}(vm (name x))\n`).message).toMatch(/expected a \(domain …\) list, found \(vm …\) \(line 4/);
    expect(failure(domain('(domid 0)', 'stray')).message).toMatch(
      /in domain 1 \(opened on line 1\): expected a \(key value …\) entry, found atom "stray"/,
    );
  });

  it('refuses values xend does not print, naming the field and the line', () => {
    const e = failure(`${domain('(domid 0)')}${domain('(domid 7)', '(uuid not-a-uuid)')}`);
    expect(e.message).toBe('xm list -l: in domain 2 (opened on line 4): uuid "not-a-uuid" is not a UUID (line 6: "    (uuid not-a-uuid)")');
    expect(failure(domain('(domid seven)')).message).toMatch(/domid "seven" is not a whole number/);
    expect(failure(domain('(domid 1)', '(state rb)')).message).toMatch(/state "rb" is not six xm state letters/);
    expect(failure(domain('(name a b)')).message).toMatch(/\(name …\) should hold one value, found 2: atom "a" atom "b"/);
    expect(failure(domain('(uuid (x))')).message).toMatch(/\(uuid …\) should hold one value, found 1: \(x …\)/);
    expect(failure(domain('(name a)', '(name b)')).message).toMatch(/\(name …\) appears twice/);
  });

  it('reads what the simulator prints for xm hosts', () => {
    const text = domain(
      '(domid 1)',
      '(on_crash restart)',
      '(uuid 2b0e2f8e-9a3c-5d7e-8f10-1a2b3c4d5e6f)',
      '(vcpus 2)',
      '(name legacy-db.example.com)',
      '(maxmem 1024)',
      '(memory 1024)',
      '(cpu_time 12.500000)',
      '(status 2)',
      '(state -b----)',
    );
    expect(parseXmListLong(text)).toEqual([
      {
        domid: 1,
        name: 'legacy-db.example.com',
        uuid: '2b0e2f8e-9a3c-5d7e-8f10-1a2b3c4d5e6f',
        memoryMiB: 1024,
        maxMemoryMiB: 1024,
        vcpus: 2,
        state: '-b----',
        cpuSeconds: 12.5,
      },
    ]);
  });
});

describe('xmUuidOf', () => {
  const long = (domid: number | null, name: string, uuid: string | null): XmLongDomain => ({
    domid,
    name,
    uuid,
    memoryMiB: null,
    maxMemoryMiB: null,
    vcpus: null,
    state: null,
    cpuSeconds: null,
  });
  const A = '11111111-1111-1111-1111-111111111111';
  const B = '22222222-2222-2222-2222-222222222222';

  it('matches by name, and by domid too when both have one', () => {
    const domains = [long(0, 'Domain-0', '00000000-0000-0000-0000-000000000000'), long(5, 'web', A)];
    expect(xmUuidOf(domains, { name: 'web', id: 5 })).toBe(A);
    expect(xmUuidOf(domains, { name: 'Domain-0', id: 0 })).toBe('00000000-0000-0000-0000-000000000000');
    expect(xmUuidOf(domains, { name: 'web', id: null })).toBe(A);
    expect(xmUuidOf([long(null, 'web', A)], { name: 'web', id: 5 })).toBe(A);
  });

  it('gives null when no entry fits: another name, or the same name under another domid (re-created in between)', () => {
    expect(xmUuidOf([long(5, 'web', A)], { name: 'mail', id: 5 })).toBeNull();
    expect(xmUuidOf([long(5, 'web', A)], { name: 'web', id: 6 })).toBeNull();
    expect(xmUuidOf([long(5, 'web', null)], { name: 'web', id: 5 })).toBeNull();
  });

  it('gives null when entries of that name disagree, never picking one', () => {
    expect(xmUuidOf([long(5, 'web', A), long(null, 'web', B)], { name: 'web', id: 5 })).toBeNull();
    expect(xmUuidOf([long(5, 'web', A), long(6, 'web', B)], { name: 'web', id: 6 })).toBe(B);
  });
});
