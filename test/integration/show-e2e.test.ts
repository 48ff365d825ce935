import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { domainUuid } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * /show end to end: the bot (pipeline, lookup, rendering), the agent and the simulated demo fleet of config/demo.yaml
 * (gateway: two vifs on br-wan and br-lan, pinned to CPU 1, autostart; web: one vif, no ip=; mail: defined, not
 * running; files on xen2: a second disk).
 */
let stack: TestStack;
let adapter: CaptureAdapter;
let n = 0;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new CaptureAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({ ...c, sampling: { ...c.sampling, enabled: false } }),
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function ask(line: string, user = 'alice'): Promise<Reply> {
  const req = chatRequest(`show-${++n}-${Math.random().toString(36).slice(2, 6)}`, line, user);
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

const body = (r: Reply) =>
  r.blocks
    .map((b) =>
      b.type === 'table'
        ? `${b.caption ?? ''}\n${formatTable(b.table)}`
        : b.type === 'fields'
          ? b.fields.map((f) => `${f.name}: ${f.value}`).join('\n')
          : b.text,
    )
    .join('\n');

describe('/show through the bot', () => {
  it('a running firewall: its two vifs with bridge, MAC and IP, pinning, autostart and config file, from one round trip', async () => {
    const since = stack.sim.fleet.log.lastSeq;
    const r = await ask('show gateway');
    expect(r.title).toBe('gateway on xen1');
    expect(r.tone).toBe('info');
    const text = body(r);
    const id = stack.sim.fleet.findDomain(stack.sim.fleet.host('xen1'), 'gateway')?.id;
    for (const line of [
      `state: blocked (-b----), id ${id}`,
      `UUID: ${domainUuid('gateway')}`,
      'memory: 512 MiB (max 512 MiB)',
      'vCPUs: 1',
      'pinning (config): 1 (every vCPU)',
      'autostart: ↻ yes — /etc/xen/auto/gateway.cfg → /etc/xen/vm/gateway.cfg',
      'config file: /etc/xen/vm/gateway.cfg',
      'configuration from: xl list -l (the running domain)',
    ])
      expect(text).toContain(line);
    expect(text).toMatch(/^0\s+br-wan\s+default\s+00:16:3e:0a:00:01\s+203\.0\.113\.1\s+connected$/m);
    expect(text).toMatch(/^1\s+br-lan\s+default\s+00:16:3e:0a:00:02\s+10\.0\.0\.1\s+connected$/m);
    expect(text).toMatch(/^xvda\s+\/dev\/vg0\/gateway-disk\s+rw\s+phy raw\s+connected$/m);
    expect(text).toMatch(/^\s+0\s+1\s+-b-\s+\d+\.\d\s+1\s+all$/m);
    // One batch: the domain's commands came with the list, nothing else was sent to the host for it.
    const sent = stack.sim.fleet.log.query({ host: 'xen1', since }).map((e) => e.command);
    expect(sent.filter((c) => c.endsWith(' gateway') || c.endsWith('/gateway.cfg'))).toEqual([
      'xl list -l gateway',
      'xl network-list gateway',
      'xl block-list gateway',
      'xl vcpu-list gateway',
      'xl uptime gateway',
      'cat /etc/xen/vm/gateway.cfg',
    ]);
  });

  it('web: its IP is "unknown" (no ip= in its config); a viewer may look', async () => {
    const r = await ask('show web', 'carol');
    expect(r.title).toBe('web on xen1');
    expect(body(r)).toMatch(/^0\s+br-lan\s+default\s+00:16:3e:0a:00:03\s+unknown\s+connected$/m);
  });

  it('files on xen2: both its disks', async () => {
    const text = body(await ask('show files'));
    expect(text).toMatch(/^xvda\s+\/dev\/vg0\/files-disk\s+rw\s+phy raw\s+connected$/m);
    expect(text).toMatch(/^xvdb\s+\/dev\/vg0\/files-data\s+rw\s+phy raw\s+connected$/m);
  });

  it('mail, defined but not running: what its config file says, and plainly what cannot be shown', async () => {
    const r = await ask('show mail');
    expect(r.title).toBe('mail on xen1 (not running)');
    const text = body(r);
    for (const line of [
      'state: not running (defined)',
      'uptime: -',
      `UUID: ${domainUuid('mail')}`,
      'memory: 1 GiB (max not set (= memory))',
      'vCPUs: 2',
      'autostart: no',
      'config file: /etc/xen/vm/mail.cfg',
      'configuration from: its config file /etc/xen/vm/mail.cfg',
      'Not shown: mail is not running: it has no domid, uptime, live vCPU placement or device state',
    ])
      expect(text).toContain(line);
    expect(text).toMatch(/^0\s+br-lan\s+default\s+set at start\s+10\.0\.0\.25\s+-$/m);
    expect(text).toMatch(/^xvda\s+\/dev\/vg0\/mail-disk\s+rw\s+phy\s+-$/m);
    expect(text).not.toContain('vCPUs (live)');
    expect(text).not.toContain('⚠');
  });

  it('an unknown domain is refused before anything is queued', async () => {
    const r = await ask('show nosuch');
    expect(r.kind).toBe('error');
    expect(body(r)).toMatch(/nosuch/);
  });
});
