import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { parseList, parseListWithUuids } from './list.ts';

const row = (name: string, id: number | null, memoryMiB: number, vcpus: number, state: string, cpuSeconds: number) => ({
  name,
  id,
  memoryMiB,
  vcpus,
  state,
  cpuSeconds,
});

describe('parseList on real samples', () => {
  it('reads xl list with TABs in the header (uva-sne, Xen 4.9.2)', () => {
    const r = parseList(fixture('xl-list__uva-sne-xen-4.9.2.txt'));
    expect(r).toEqual({
      rows: [row('Domain-0', 0, 15084, 8, 'r-----', 633.6), row('guest-01', 4, 1024, 2, '-b----', 7.7)],
      unparsed: [],
      sawHeader: true,
    });
  });

  it('reads -bp--- as printed (paused while blocked)', () => {
    expect(parseList(fixture('xl-list-paused-bp__uva-sne-xen-4.9.2.txt')).rows).toEqual([
      row('Domain-0', 0, 15084, 8, 'r-----', 633.9),
      row('guest-01', 4, 1024, 2, '-bp---', 7.8),
    ]);
  });

  it('reads (null) names and --psc- crashed domains (ganeti, Xen 4.4)', () => {
    expect(parseList(fixture('xl-list-crashed-instances__ganeti-xen-4.4.txt')).rows).toEqual([
      row('Domain-0', 0, 1023, 1, 'r-----', 154706.1),
      row('server01.example.com', 1, 1024, 1, '-b----', 167643.2),
      row('(null)', 28441, 789, 1, '--psc-', 1.2),
      row('alsodying.example.com', 28448, 1024, 1, '--psc-', 1.4),
    ]);
  });

  it('reads the xl man-page example without a trailing newline (facter)', () => {
    expect(parseList(fixture('xl-list__facter-xen_domains-fixture.txt')).rows).toEqual([
      row('Domain-0', 0, 750, 4, 'r-----', 11794.3),
      row('win', 1, 1019, 1, 'r-----', 0.3),
      row('linux', 2, 2048, 2, 'r-----', 5624.2),
    ]);
  });

  it('reads xm list samples (ganeti 4.0.1, facter, exabox)', () => {
    expect(parseList(fixture('xm-list-dom0-only__ganeti-xen-4.0.1.txt')).rows).toEqual([row('Domain-0', 0, 1023, 1, 'r-----', 121152.6)]);
    expect(parseList(fixture('xm-list-four-instances__ganeti-xen-4.0.1.txt')).rows).toEqual([
      row('Domain-0', 0, 1023, 1, 'r-----', 154706.1),
      row('server01.example.com', 1, 1024, 1, '-b----', 167643.2),
      row('web3106215069.example.com', 3, 4096, 1, '-b----', 466690.9),
      row('testinstance.example.com', 2, 2048, 2, 'r-----', 244443.0),
    ]);
    expect(parseList(fixture('xm-list__facter-xendomains-fixture.txt')).rows).toEqual([
      row('Domain-0', 0, 656, 4, 'r-----', 48140.9),
      row('web01', 48, 512, 2, '-b----', 97651.5),
      row('mailserver', 53, 512, 4, '-b----', 7536.1),
    ]);
    expect(parseList(fixture('xm-list__exabox-ovm-tests_xencpumgr.txt')).rows).toEqual([
      row('Domain-0', 0, 9135, 4, 'r-----', 379576.0),
      row('slcs16adm03vm04-v303.us.oracle.com', 1, 30723, 16, '-b----', 514410.6),
    ]);
  });

  it('finds no rows in outputs of other commands, and reports their lines', () => {
    const sxp = parseList(fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt'));
    expect(sxp.rows).toEqual([]);
    expect(sxp.sawHeader).toBe(false);
    expect(parseList(fixture('virsh-lifecycle-list-dominfo-errors__libvirt-virshtest.txt')).rows).toEqual([]);
    expect(parseList(fixture('xentop-b-i2-d1__xentop-ng-xcpng-8.3.txt')).rows).toEqual([]);
  });
});

describe('parseList on shapes the samples do not show', () => {
  const header = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';

  it('reads a name longer than the 40-char column and numbers wider than theirs', () => {
    const name = 'a-very-long-domain-name-that-overflows-the-column.example.com';
    const r = parseList(`${header}\n${name} 123456 1048576   128     -b---- 12345678.9\n`);
    expect(r.rows).toEqual([row(name, 123456, 1048576, 128, '-b----', 12345678.9)]);
  });

  it('reads xl names with spaces', () => {
    expect(parseList(`${header}\nWindows7 (Dev)                               7  4096     2     -b----     120.5\n`).rows).toEqual([
      row('Windows7 (Dev)', 7, 4096, 2, '-b----', 120.5),
    ]);
  });

  it('reads a blank xm ID (inactive managed domain)', () => {
    expect(
      parseList(
        'Name   ID   Mem VCPUs      State   Time(s)\nstopped-vm                                     512     1     ------      0.0\n',
      ).rows,
    ).toEqual([row('stopped-vm', null, 512, 1, '------', 0)]);
  });

  it.each([
    ['---sr-', 'rebooting'],
    ['-----d', 'dying'],
    ['-b---d', 'zombie'],
    ['---ss-', 'suspended'],
    ['---sw-', 'watchdog'],
    ['---sS-', 'soft reset'],
    ['---s?-', 'unknown reason'],
  ])('keeps state %s (%s) as printed', (state) => {
    expect(parseList(`${header}\nvm                                           5   256     1     ${state}       3.0\n`).rows[0]?.state).toBe(
      state,
    );
  });

  it('ignores xl list -v trailing columns (uuid, reason code, label)', () => {
    const r = parseList(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label\n' +
        'web                                          3  1024     2     -b----      55.1 3f1c1d6e-0000-4000-8000-0123456789ab        -                -\n',
    );
    expect(r.rows).toEqual([row('web', 3, 1024, 2, '-b----', 55.1)]);
  });

  it('tolerates CRLF and trailing spaces', () => {
    expect(parseList(`${header}\r\nweb                                          3  1024     2     -b----      55.1   \r\n`).rows).toEqual([
      row('web', 3, 1024, 2, '-b----', 55.1),
    ]);
  });

  it('reports a garbage line with its number instead of guessing', () => {
    const r = parseList(
      `${header}\nweb                                          3  1024     2     -b----      55.1\nlibxl: error: something odd\n`,
    );
    expect(r.rows).toHaveLength(1);
    expect(r.unparsed).toEqual([{ lineNumber: 3, line: 'libxl: error: something odd' }]);
  });

  it('rejects impossible state strings', () => {
    expect(parseList(`${header}\nvm  5  256  1  xyzzy!  3.0\n`).rows).toEqual([]);
  });
});

describe('parseListWithUuids on `xl list -v` (X: tools/xl/xl_info.c list_domains, shared/xen-toolstack.md §1.1)', () => {
  // The header gains "   UUID                            Reason-Code\tSecurity Label"; each row gains " " UUID,
  // " %8x" (shutdown reason) or " %8s" "-", and " %16s" (security label, "-" without XSM).
  const header =
    'Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label';
  const line = (name: string, id: number, mem: number, vcpus: number, state: string, time: string, uuid: string, reason: string) =>
    `${name.padEnd(40)} ${String(id).padStart(5)} ${String(mem).padStart(5)} ${String(vcpus).padStart(5)}     ${state}  ${time.padStart(8)} ${uuid} ${reason.padStart(8)} ${'-'.padStart(16)}`;

  it('reads the UUID column, Domain-0 with the nil UUID, and a shut-down row with its hex reason code', () => {
    const text = [
      header,
      line('Domain-0', 0, 15084, 8, 'r-----', '633.6', '00000000-0000-0000-0000-000000000000', '-'),
      line('web', 3, 1024, 2, '-b----', '55.1', '3F1C1D6E-0000-4000-8000-0123456789AB', '-'),
      line('Windows7 (Dev)', 7, 4096, 2, '---sc-', '120.5', 'c0ffee00-1234-4abc-9def-000000000007', '3'),
      '',
    ].join('\n');
    const r = parseListWithUuids(text);
    expect(r.sawHeader).toBe(true);
    expect(r.unparsed).toEqual([]);
    expect(r.rows).toEqual([
      { ...row('Domain-0', 0, 15084, 8, 'r-----', 633.6), uuid: '00000000-0000-0000-0000-000000000000' },
      { ...row('web', 3, 1024, 2, '-b----', 55.1), uuid: '3f1c1d6e-0000-4000-8000-0123456789ab' },
      { ...row('Windows7 (Dev)', 7, 4096, 2, '---sc-', 120.5), uuid: 'c0ffee00-1234-4abc-9def-000000000007' },
    ]);
    // The `xenops parse list` contract is unchanged: no uuid field.
    expect(parseList(text).rows[1]).toEqual(row('web', 3, 1024, 2, '-b----', 55.1));
  });

  it('reads 4.19+ rows with trailing capabilities', () => {
    const text = `${header}      Capabilities\n${line('Domain-0', 0, 2048, 4, 'r-----', '10.0', '00000000-0000-0000-0000-000000000000', '-')} privileged hardware xenstore\n`;
    expect(parseListWithUuids(text).rows.map((r) => [r.name, r.uuid])).toEqual([['Domain-0', '00000000-0000-0000-0000-000000000000']]);
  });

  it('gives uuid null for plain `xl list`, `xm list` and a trailing column that is not a UUID', () => {
    expect(parseListWithUuids(fixture('xl-list__uva-sne-xen-4.9.2.txt')).rows.map((r) => r.uuid)).toEqual([null, null]);
    expect(parseListWithUuids(fixture('xm-list__facter-xendomains-fixture.txt')).rows.map((r) => r.uuid)).toEqual([null, null, null]);
    const cpupool = `Name                                        ID   Mem VCPUs\tState\tTime(s)         Cpupool\nweb                                          3  1024     2     -b----      55.1        Pool-0\n`;
    expect(parseListWithUuids(cpupool).rows).toEqual([{ ...row('web', 3, 1024, 2, '-b----', 55.1), uuid: null }]);
  });
});
