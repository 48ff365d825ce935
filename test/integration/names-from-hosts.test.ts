import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.ts';
import { domainUuid } from '../../src/sim/model.ts';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * Strings that reach a Dom0 from the hosts and the config, not from chat: a running guest's name (read from
 * `xl list`, reached by its UUID), a config file's name in a config dir, an autostart link's target, a host's
 * migrateAddress, a config dir's path. The demo stack over the simulator, whose command log is what each host received.
 */
let t: TerminalStack;
let c: Conversation;

const ODD_NAME = 'my web';
const ODD_UUID = domainUuid(ODD_NAME);
const SPACED = '/srv/xen guests';

beforeAll(async () => {
  t = await startTerminalStack((config) => ({
    ...config,
    hosts: {
      ...config.hosts,
      xen1: { ...(config.hosts['xen1'] as HostConfig), configDirs: ['/etc/xen/vm', SPACED, '/etc/xen/auto'] },
      // An SSH destination, as xl migrate takes it.
      xen2: { ...(config.hosts['xen2'] as HostConfig), migrateAddress: 'root@xen2' },
    },
  }));
  c = conversation(t);
  const xen1 = t.stack.sim.fleet.host('xen1');
  // A running guest whose name xl allows but xenops does not act on (a space).
  t.stack.sim.fleet.addDomain(xen1, { name: ODD_NAME, memoryMiB: 256, vcpus: 1, flags: '-b----' });
  // A name xenops allows (`:`), running on xen1.
  t.stack.sim.fleet.addDomain(xen1, { name: 'mail:smtp', memoryMiB: 256, vcpus: 1, flags: '-b----' });
  // Config files in a config dir whose names are no domain name xenops can use.
  xen1.files.set('/etc/xen/vm/my web.cfg', 'name = "my web"\nmemory = 256\nvcpus = 1\n');
  xen1.files.set('/etc/xen/vm/x;reboot.cfg', 'name = "x;reboot"\nmemory = 256\nvcpus = 1\n');
  // An autostart entry pointing at a file outside every config dir (not even a .cfg).
  xen1.files.set('/root/notes.txt', 'name = "odd"\nmemory = 256\nvcpus = 1\n');
  xen1.links.set('/etc/xen/auto/odd.cfg', '/root/notes.txt');
  // A config dir whose path holds a space.
  xen1.dirs.add(SPACED);
  xen1.files.set(`${SPACED}/db.cfg`, 'name = "db"\nmemory = 256\nvcpus = 1\n');
}, 60_000);

afterAll(async () => {
  await t?.stack.stop();
});

const log = (host: string) => t.stack.sim.fleet.host(host).commandLog;
const WHY_ODD = `the domain with UUID ${ODD_UUID} on xen1 is "my web", a name xenops does not act on`;

describe('a running guest whose name xenops does not act on, reached by its UUID', () => {
  it('/stop UUID is refused naming the guest and why, and nothing is sent', async () => {
    const before = log('xen1').length;
    const out = await c.say(`/stop ${ODD_UUID}`);
    expect(out).toContain(WHY_ODD);
    expect(out).not.toContain('Something went wrong');
    expect(
      log('xen1')
        .slice(before)
        .filter((l) => /shutdown|destroy/.test(l)),
    ).toEqual([]);
  });

  it('/pause UUID is refused naming the guest and why', async () => {
    expect(await c.say(`/pause ${ODD_UUID}`)).toContain(WHY_ODD);
  });

  it('/show UUID is refused before anything is queued', async () => {
    const out = await c.say(`/show ${ODD_UUID}`);
    expect(out).toContain(WHY_ODD);
    expect(out).not.toMatch(/queued on/);
  });
});

describe('a running guest whose name holds a colon', () => {
  it('/show mail:smtp finds it by its bare name (mail is no host), as xen1:mail:smtp does', async () => {
    expect(await c.say('/show xen1:mail:smtp')).toMatch(/^ℹ mail:smtp on xen1$/m);
    expect(await c.say('/show mail:smtp')).toMatch(/^ℹ mail:smtp on xen1$/m);
  });
});

describe('config files in a config dir whose names xenops cannot use', () => {
  it('/list says they are there rather than leaving them out silently', async () => {
    const out = await c.say('/list xen1');
    expect(out).toContain('"/etc/xen/vm/my web.cfg" is not a config xenops can use');
    expect(out).toContain('"/etc/xen/vm/x;reboot.cfg" is not a config xenops can use');
  });
});

describe('an autostart link pointing at a file that is no NAME.cfg', () => {
  it('/list says so, and /start gives neither cat nor create that path, saying why', async () => {
    expect(await c.say('/list xen1')).toContain(
      '/etc/xen/auto/odd.cfg points to "/root/notes.txt", which is no NAME.cfg file: xenops does not start odd from it',
    );
    const before = log('xen1').length;
    const out = await c.say('/start odd');
    expect(out).toContain('/root/notes.txt is not a NAME.cfg file');
    expect(out).not.toContain('Something went wrong');
    expect(
      log('xen1')
        .slice(before)
        .filter((l) => /notes\.txt/.test(l)),
    ).toEqual([]);
  });
});

describe('a config dir with a space in its path', () => {
  it('/list finds the guest defined there, and /show reads its config file', async () => {
    expect(await c.say('/list xen1')).toMatch(/xen1 +db +- +defined/);
    const out = await c.say('/show db');
    expect(out).toContain(`configuration from: its config file ${SPACED}/db.cfg`);
  });

  it('/show of another guest on that host is not refused for the dir', async () => {
    const out = await c.say('/show web');
    expect(out).not.toMatch(/not a config dir/);
    expect(out).toMatch(/^ℹ web on xen1$/m);
  });
});

describe('a migrateAddress that is an SSH destination (user@host)', () => {
  it('/migrate to that host asks for approval showing xl migrate … root@xen2', async () => {
    const out = await c.say('/migrate web xen2');
    expect(out).toContain('xl migrate web root@xen2');
    expect(out).not.toContain('Something went wrong');
  });

  it('/evacuate to that host plans with that address', async () => {
    const out = await c.say('/evacuate xen1 to xen2');
    expect(out).toMatch(/xl migrate \S+ root@xen2/);
    expect(out).not.toContain('Something went wrong');
  });
});
