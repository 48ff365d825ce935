import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { classifyOutcome, parseMigrationLine } from './outcome.ts';

const out = (code: number, stderr: string, stdout = '') => ({ code, stderr, stdout });

describe('classifyOutcome', () => {
  it('reads the Xen 4.1 "already exists" wording (QubesOS #314)', () => {
    expect(classifyOutcome('create', out(3, fixture('libxl-rename-exists-error__qubes-issue-314-xen-4.1.txt')))).toEqual({
      kind: 'alreadyExists',
      domain: 'work-acct',
      message: 'libxl: error: libxl.c:163:libxl_domain_rename domain with name "work-acct" already exists.',
    });
  });

  it('reads the current libxl "already exists" wording', () => {
    const stderr =
      'Parsing config from /etc/xen/vm/web.cfg\nlibxl: error: libxl_domain.c:215:libxl__domain_rename: Domain 12:Domain with name "web" already exists.\nlibxl: error: libxl_create.c:1234:initiate_domain_create: Domain 12:cannot make domain: -6\n';
    expect(classifyOutcome('create', out(3, stderr))).toMatchObject({ kind: 'alreadyExists', domain: 'web' });
  });

  it.each([
    [
      'create',
      3,
      'Failed to read config file: /etc/xen/vm/x.cfg: No such file or directory',
      { kind: 'configMissing', path: '/etc/xen/vm/x.cfg' },
    ],
    ['create', 1, 'Error: Unable to open config file: x.cfg', { kind: 'configMissing', path: 'x.cfg' }],
    [
      'create',
      1,
      "/etc/xen/vm/x.cfg:3: config parsing error near `=': syntax error\nFailed to parse config: Invalid argument",
      { kind: 'configInvalid', path: '/etc/xen/vm/x.cfg' },
    ],
    ['shutdown', 1, 'web is an invalid domain identifier (rc=-6)', { kind: 'invalidDomain', domain: 'web' }],
    ['shutdown', 3, "Error: Domain 'web' does not exist.", { kind: 'notFound', domain: 'web' }],
    [
      'shutdown',
      1,
      'PV control interface not available: external graceful shutdown not possible.\nUse "-F" to fallback to ACPI power event.\nshutdown failed (rc=-10)',
      { kind: 'noPvControl' },
    ],
    ['destroy', 1, 'Not destroying domain 0; use -f to force.', { kind: 'dom0Refused' }],
    [
      'destroy',
      1,
      'libxl: error: libxl_domain.c:1:libxl__destroy_domid: Domain 99:Non-existant domain\ndestroy failed (rc=-21)',
      { kind: 'notFound' },
    ],
    [
      'migrate',
      1,
      'migration target: Ready to receive domain.\nMigration failed, failed to suspend at sender.',
      { kind: 'migrationFailed', stage: 'suspend' },
    ],
    ['migrate', 1, 'Migration failed due to problems at target.', { kind: 'migrationFailed', stage: 'target' }],
    ['migrate', 1, 'Migration failed, resuming at sender.', { kind: 'migrationFailed', stage: 'resumedAtSender' }],
    [
      'migrate',
      1,
      ' ** Migration failed during final handshake **\nDomain state is now undefined',
      { kind: 'migrationFailed', stage: 'finalHandshake' },
    ],
    [
      'migrate',
      1,
      'No config file stored for running domain and none supplied - cannot migrate.',
      { kind: 'migrationFailed', stage: 'noConfig' },
    ],
    [
      'migrate',
      255,
      'ssh: connect to host xen9 port 22: Connection refused\nmigration sender: Target has acknowledged transfer.\n',
      { kind: 'migrationFailed', stage: 'connect' },
    ],
    ['create', 1, "ERROR:  Can't find hypervisor information in sysfs!", { kind: 'hostError' }],
    ['create', 1, 'cannot init xl context', { kind: 'hostError' }],
  ] as const)('%s exit %i: %s', (op, code, stderr, expected) => {
    expect(classifyOutcome(op, out(code, stderr))).toMatchObject(expected);
  });

  it('reads both real migration transcripts as success', () => {
    for (const f of ['xl-migrate-success__snow-docs-ha-migration.txt', 'xl-migrate-success__uva-sne-xen-4.9.txt']) {
      const o = classifyOutcome('migrate', out(0, fixture(f)));
      expect(o.kind).toBe('ok');
      if (o.kind === 'ok') expect(o.lines.at(-1)).toBe('Migration successful.');
    }
  });

  it('reads create and shutdown status lines as success', () => {
    expect(classifyOutcome('create', out(0, 'Parsing config from /etc/xen/vm/mail.cfg\n'))).toEqual({
      kind: 'ok',
      lines: ['Parsing config from /etc/xen/vm/mail.cfg'],
    });
    expect(classifyOutcome('shutdown', out(0, 'Shutting down domain 5\n'))).toMatchObject({ kind: 'ok' });
    expect(classifyOutcome('create', out(0, '', 'Using config file "./x.cfg".\nStarted domain x (id=9)\n'))).toMatchObject({ kind: 'ok' });
  });

  it('calls an unknown non-zero exit a failure and quotes the telling line', () => {
    expect(classifyOutcome('create', out(2, 'something\nlibxl: error: weird thing failed\n'))).toEqual({
      kind: 'unknownFailure',
      exitCode: 2,
      message: 'libxl: error: weird thing failed',
    });
  });
});

describe('parseMigrationLine', () => {
  it('turns the snow-docs transcript into ordered progress', () => {
    const events = fixture('xl-migrate-success__snow-docs-ha-migration.txt')
      .split('\n')
      .map(parseMigrationLine)
      .filter((e) => e !== null);
    const percents = events.flatMap((e) => (e.percent === null ? [] : [e.percent]));
    expect(percents).toEqual([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100]);
    expect(events[0]).toEqual({ percent: null, message: 'migration target: Ready to receive domain.' });
    expect(events[1]).toEqual({ percent: 5, message: 'Reloading memory pages:' });
    expect(events.at(-1)).toEqual({ percent: null, message: 'Migration successful.' });
  });

  it('ignores lines that carry no progress', () => {
    expect(parseMigrationLine('xc: info: Saving domain 6, type x86 PV')).toBeNull();
    expect(parseMigrationLine("root@145.100.104.103's password:")).toBeNull();
  });
});
