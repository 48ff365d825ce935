import { describe, expect, it } from 'vitest';
import { renderDiscord } from '../src/adapters/discord/render.ts';
import { renderTelegram, TELEGRAM_TEXT_LIMIT, visibleLength } from '../src/adapters/telegram/render.ts';
import { commandSpec, type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { DomainDetail, DomainDisk, DomainNic } from '../src/core/domain-detail.ts';
import { formatTable, type Reply } from '../src/core/reply.ts';
import { SHOW_MAX_NOTES, SHOW_MAX_ROWS, show } from './show.ts';

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

const nic = (over: Partial<DomainNic>): DomainNic => ({
  index: 0,
  mac: null,
  bridge: null,
  ips: [],
  script: null,
  gatewaydev: null,
  vifname: null,
  model: null,
  state: 4,
  configured: true,
  live: true,
  ...over,
});
const disk = (over: Partial<DomainDisk>): DomainDisk => ({
  vdev: 'xvda',
  devid: 51712,
  target: '/dev/vg0/gateway-disk',
  mode: 'rw',
  format: 'raw',
  backend: 'phy',
  cdrom: false,
  state: 4,
  configured: true,
  live: true,
  ...over,
});

/** The demo's firewall: two vifs on two bridges, pinned to CPU 1. */
const gateway: DomainDetail = {
  name: 'gateway',
  summary: {
    name: 'gateway',
    uuid: '6d808836-05fe-5c64-a669-dc9119a9eb84',
    id: 1,
    status: 'blocked',
    flags: '-b----',
    memoryMiB: 512,
    vcpus: 1,
    cpuSeconds: 3,
    configPath: '/etc/xen/vm/gateway.cfg',
    autostart: { path: '/etc/xen/auto/gateway.cfg', target: '/etc/xen/vm/gateway.cfg' },
  },
  source: 'toolstack',
  uuid: '6d808836-05fe-5c64-a669-dc9119a9eb84',
  type: 'pv',
  memoryMiB: 512,
  maxMemoryMiB: 512,
  vcpus: 1,
  maxVcpus: 1,
  cpus: '1',
  cpusSoft: null,
  vcpuList: [{ vcpu: 0, cpu: 1, state: '-b-', timeSeconds: 3.1, hard: '1', soft: 'all' }],
  disks: [disk({})],
  nics: [
    nic({ index: 0, mac: '00:16:3e:0a:00:01', bridge: 'br-wan', ips: ['203.0.113.10'] }),
    nic({ index: 1, mac: '00:16:3e:0a:00:02', bridge: 'br-lan', ips: ['10.0.0.1'] }),
  ],
  liveDevices: { nics: true, disks: true },
  uptimeSeconds: 2 * 86_400 + 3 * 3600 + 5 * 60,
  configFileRead: null,
  unavailable: [],
  notes: [],
};

const outcome = (d: DomainDetail, host = 'xen1'): HostOutcome<'domain.show'> => ({
  host,
  ok: true,
  result: { host, toolstack: 'xl', ...d },
});
const render = (o: HostOutcome<'domain.show'>, domain = o.ok ? o.result.name : 'web') =>
  show.render([o], { domain: { domain } }, renderContext());

describe('/show renders one domain as key/value fields and tables', () => {
  it('a running firewall: state, uuid, memory, vCPUs and pinning, autostart, config file; vifs with bridge, MAC, IP; disks; vCPUs', () => {
    const r = render(outcome(gateway));
    expect(r.title).toBe('gateway on xen1');
    expect(r.tone).toBe('info');
    const text = body(r);
    for (const line of [
      'state: blocked (-b----), id 1',
      'uptime: 2d 3h 05m',
      'UUID: 6d808836-05fe-5c64-a669-dc9119a9eb84',
      'memory: 512 MiB (max 512 MiB)',
      'vCPUs: 1',
      'pinning (config): 1 (every vCPU)',
      'autostart: ↻ yes — /etc/xen/auto/gateway.cfg → /etc/xen/vm/gateway.cfg',
      'config file: /etc/xen/vm/gateway.cfg',
      'configuration from: xl list -l (the running domain)',
    ])
      expect(text).toContain(line);
    expect(text).toMatch(/^Network\nvif\s+bridge\s+script\s+MAC\s+IP\s+state$/m);
    expect(text).toMatch(/^0\s+br-wan\s+default\s+00:16:3e:0a:00:01\s+203\.0\.113\.10\s+connected$/m);
    expect(text).toMatch(/^1\s+br-lan\s+default\s+00:16:3e:0a:00:02\s+10\.0\.0\.1\s+connected$/m);
    expect(text).toMatch(/^xvda\s+\/dev\/vg0\/gateway-disk\s+rw\s+phy raw\s+connected$/m);
    expect(text).toMatch(/^vCPUs \(live\)\nvCPU\s+CPU\s+state\s+time\(s\)\s+hard\s+soft\n\s+0\s+1\s+-b-\s+3\.1\s+1\s+all$/m);
  });

  it('an IP not in the vif config is "unknown"; routed vifs say so with their gateway; devices outside the config are marked', () => {
    const d: DomainDetail = {
      ...gateway,
      name: 'web',
      nics: [
        nic({ mac: '00:16:3e:0a:00:03', bridge: 'br-lan' }),
        nic({ index: 1, mac: '00:16:3e:0a:00:04', ips: ['203.0.113.20'], script: 'vif-route', gatewaydev: 'eth0' }),
        nic({ index: 2, mac: '00:16:3e:77:00:09', configured: false }),
        nic({ index: 3, mac: '00:16:3e:77:00:0a', live: false, state: null }),
      ],
      disks: [disk({}), disk({ vdev: 'xvdc', devid: 51744, target: null, mode: null, format: null, backend: null, configured: false })],
    };
    const text = body(render(outcome(d)));
    expect(text).toMatch(/^0\s+br-lan\s+default\s+00:16:3e:0a:00:03\s+unknown\s+connected\s*$/m);
    expect(text).toMatch(/^1\s+-\s+vif-route \(gw eth0\)\s+00:16:3e:0a:00:04\s+203\.0\.113\.20\s+connected\s*$/m);
    expect(text).toMatch(/^2\s+-\s+default\s+00:16:3e:77:00:09\s+unknown\s+connected\s+not in config$/m);
    expect(text).toMatch(/^3\s+-\s+default\s+00:16:3e:77:00:0a\s+unknown\s+not attached\s*$/m);
    expect(text).toMatch(/^xvdc\s+unknown\s+\?\s+-\s+connected\s+not in config$/m);
  });

  it('a stopped domain: its config file, MACs "set at start", what cannot be shown said plainly, no live tables', () => {
    const d: DomainDetail = {
      ...gateway,
      name: 'mail',
      summary: {
        ...(gateway.summary as NonNullable<DomainDetail['summary']>),
        name: 'mail',
        id: null,
        status: 'defined',
        flags: '',
        memoryMiB: null,
        vcpus: null,
        configPath: '/etc/xen/vm/mail.cfg',
        autostart: null,
      },
      source: 'config-file',
      configFileRead: '/etc/xen/vm/mail.cfg',
      memoryMiB: 1024,
      maxMemoryMiB: null,
      vcpus: 2,
      maxVcpus: null,
      cpus: null,
      vcpuList: null,
      nics: [nic({ mac: null, bridge: 'xenbr0', state: null, live: false })],
      disks: [disk({ vdev: 'xvda', target: '/dev/vg0/mail-disk', state: null, live: false })],
      liveDevices: { nics: false, disks: false },
      uptimeSeconds: null,
      unavailable: ['mail is not running: it has no domid, uptime, live vCPU placement or device state'],
    };
    const r = render(outcome(d));
    expect(r.title).toBe('mail on xen1 (not running)');
    const text = body(r);
    for (const line of [
      'state: not running (defined)',
      'uptime: -',
      'memory: 1 GiB (max not set (= memory))',
      'vCPUs: 2',
      'pinning (config): none (any CPU)',
      'autostart: no',
      'configuration from: its config file /etc/xen/vm/mail.cfg',
      'Not shown: mail is not running: it has no domid, uptime, live vCPU placement or device state',
    ])
      expect(text).toContain(line);
    expect(text).toMatch(/^0\s+xenbr0\s+default\s+set at start\s+unknown\s+-$/m);
    expect(text).toMatch(/^xvda\s+\/dev\/vg0\/mail-disk\s+rw\s+phy raw\s+-$/m);
    expect(text).not.toContain('vCPUs (live)');
  });

  it('notes make the reply a warning; a host that failed is an error naming it', () => {
    const warned = render(outcome({ ...gateway, notes: ['could not read this line of xl block-list gateway: "x"'] }));
    expect(warned.tone).toBe('warning');
    expect(body(warned)).toContain('⚠ could not read this line of xl block-list gateway: "x"');
    const failed = show.render(
      [{ host: 'xen1', ok: false, failure: { code: 'domain.notFound', message: 'no domain web on xen1' } }],
      { domain: { domain: 'web' } },
      renderContext(),
    );
    expect([failed.title, failed.tone, body(failed)]).toEqual(['Could not show web', 'error', '⚠ xen1: not found — no domain web on xen1']);
  });

  it('fits in one Discord embed and one Telegram message; a guest with 64 vCPUs, 40 disks, 30 vifs: first rows inline, all attached', () => {
    const fits = (r: Reply) => {
      const dc = renderDiscord(r);
      const tg = renderTelegram(r);
      // No overflow file of the adapters' (they attach the whole reply rather than cut it).
      expect(dc.embeds[0]?.description ?? '').not.toContain('The full output is attached');
      expect(dc.embeds[0]?.fields?.length ?? 0).toBeLessThanOrEqual(25);
      expect(tg.html).not.toContain('The full output');
      expect(visibleLength(tg.html)).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    };
    const small = render(outcome(gateway));
    fits(small);
    expect(small.attachments).toBeUndefined();
    const big: DomainDetail = {
      ...gateway,
      vcpuList: Array.from({ length: 64 }, (_, i) => ({ vcpu: i, cpu: i, state: '-b-', timeSeconds: 1234.5, hard: '0-63', soft: 'all' })),
      disks: Array.from({ length: 40 }, (_, i) =>
        disk({ vdev: `xvd${String.fromCharCode(97 + (i % 26))}${i}`, target: `/dev/mapper/vg_guests-gateway_volume_${i}` }),
      ),
      nics: Array.from({ length: 30 }, (_, i) =>
        nic({ index: i, mac: '00:16:3e:0a:00:01', bridge: `br-vlan${i}`, ips: ['203.0.113.10', '2001:db8::10'] }),
      ),
      notes: Array.from({ length: 20 }, (_, i) => `could not read this line of xl vcpu-list gateway: "${'x'.repeat(120)} ${i}"`),
    };
    const r = render(outcome(big));
    fits(r);
    const text = body(r);
    expect(text).toContain(`… and ${64 - SHOW_MAX_ROWS} more vCPUs in the attachment`);
    expect(text).toContain(`… and ${40 - SHOW_MAX_ROWS} more disks in the attachment`);
    expect(text).toContain(`… and ${30 - SHOW_MAX_ROWS} more vifs in the attachment`);
    expect(text).toContain(`⚠ … and ${20 - SHOW_MAX_NOTES} more notes in the attachment`);
    const [file] = r.attachments ?? [];
    expect(file?.name).toBe('gateway-xen1.txt');
    const all = String(file?.data);
    expect(all).toMatch(/^\s+63\s+63\s+-b-\s+1234\.5\s+0-63\s+all$/m);
    expect(all).toContain('/dev/mapper/vg_guests-gateway_volume_39');
    expect(all).toContain('br-vlan29');
    expect(all).toContain(`${'x'.repeat(120)} 19`);
  });

  it('takes one domain (host:domain when ambiguous) and is a read', () => {
    const spec = commandSpec(show);
    expect(spec.risk).toBe('read');
    expect(spec.options.map((o) => [o.name, o.required])).toEqual([['domain', true]]);
    expect(spec.description.length).toBeLessThanOrEqual(100);
    expect(show.job({ domain: { domain: 'web' } }, { host: 'xen1', domain: 'web' })).toEqual({
      op: 'domain.show',
      host: 'xen1',
      domain: 'web',
    });
  });
});
