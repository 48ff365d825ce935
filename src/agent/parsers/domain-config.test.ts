import { describe, expect, it } from 'vitest';
import { fixture as sample } from '../../../test/helpers/fixtures.ts';
import { ParseError } from '../../core/errors.ts';
import {
  configuredFromFile,
  cpuRanges,
  parseConfigFile,
  parseDiskSpec,
  parseVifSpec,
  parseXlDomainConfig,
  parseXmDomainConfig,
} from './domain-config.ts';

const JSON_SAMPLE = 'libxl-domain-config-json-pv__libvirt-libxlxml2domconfig.json';
const SXP_SAMPLE = 'xm-list-long-sxp__ganeti-xen-4.0.1.txt';

describe('parseXlDomainConfig (xl list -l DOMAIN)', () => {
  it('reads the real libxl_domain_config sample: uuid, type, memory, vCPUs, the disk and the nic', () => {
    const d = parseXlDomainConfig(sample(JSON_SAMPLE), 'test-pv');
    expect(d).toEqual({
      domid: null,
      name: 'test-pv',
      uuid: '039e9ee6-4a84-3055-4c81-8ba426ae2656',
      type: 'pv',
      memoryMiB: 512,
      maxMemoryMiB: 512,
      vcpus: 4,
      maxVcpus: 4,
      cpus: null,
      cpusSoft: null,
      disks: [{ vdev: 'xvda', target: '/var/lib/xen/images/test-pv.img', mode: 'rw', format: 'raw', backend: 'qdisk', cdrom: false }],
      // No ip in the nic: the IP stays unknown (empty), never guessed.
      nics: [
        { devid: 0, mac: '00:16:3e:3e:86:60', bridge: 'br0', ips: [], script: 'vif-bridge', gatewaydev: null, vifname: null, model: null },
      ],
      notes: [],
    });
  });

  it('reads the sample inside the array xl prints, picking the entry by name, with its domid', () => {
    const config = JSON.parse(sample(JSON_SAMPLE)) as Record<string, unknown>;
    const other = { ...config, c_info: { type: 'pv', name: 'other', uuid: '11111111-2222-3333-4444-555555555555' } };
    const text = JSON.stringify([
      { domid: 3, config: other },
      { domid: 7, config },
    ]);
    expect(parseXlDomainConfig(text, 'test-pv')).toMatchObject({ domid: 7, name: 'test-pv' });
    expect(parseXlDomainConfig(text, 'nosuch')).toBeNull();
    expect(parseXlDomainConfig('[]\n', 'web')).toBeNull();
  });

  it('reads pinning (vcpu_hard_affinity, or the older cpumap), ip, script, a read-only disk (no readwrite: libxl omits defaults)', () => {
    const text = JSON.stringify([
      {
        domid: 4,
        config: {
          c_info: { type: 'pvh', name: 'gw', uuid: '6D808836-05FE-5C64-A669-DC9119A9EB84' },
          b_info: {
            max_vcpus: 4,
            avail_vcpus: [0, 1],
            vcpu_hard_affinity: [
              [2, 3],
              [2, 3],
            ],
            vcpu_soft_affinity: [[0, 1, 2, 3, 5], [4]],
            max_memkb: 1048576,
            target_memkb: 524288,
          },
          disks: [{ pdev_path: '/srv/iso/debian.iso', vdev: 'hdc', backend: 'qdisk', format: 'raw', is_cdrom: 1 }],
          nics: [
            {
              devid: 0,
              mac: '00:16:3e:0a:00:01',
              ip: '203.0.113.10 2001:db8::10',
              script: '/etc/xen/scripts/vif-route',
              gatewaydev: 'eth0',
            },
          ],
        },
      },
    ]);
    expect(parseXlDomainConfig(text, 'gw')).toMatchObject({
      domid: 4,
      uuid: '6d808836-05fe-5c64-a669-dc9119a9eb84',
      type: 'pvh',
      memoryMiB: 512,
      maxMemoryMiB: 1024,
      vcpus: 2,
      maxVcpus: 4,
      cpus: '2-3',
      cpusSoft: ['0-3,5', '4'],
      disks: [{ vdev: 'hdc', target: '/srv/iso/debian.iso', mode: 'ro', cdrom: true }],
      nics: [{ ips: ['203.0.113.10', '2001:db8::10'], script: 'vif-route', gatewaydev: 'eth0', bridge: null }],
      notes: [],
    });
    const old = JSON.stringify({ c_info: { name: 'x' }, b_info: { cpumap: [1] } });
    expect(parseXlDomainConfig(old, 'x')?.cpus).toBe('1');
  });

  it('says what it could not read instead of guessing; output that is not JSON is a ParseError', () => {
    const text = JSON.stringify([
      { domid: 1, config: { c_info: { name: 'x', uuid: 'nope' }, b_info: { vcpu_hard_affinity: 'all' }, disks: 'xvda' } },
    ]);
    const d = parseXlDomainConfig(text, 'x');
    expect(d?.uuid).toBeNull();
    expect(d?.cpus).toBeNull();
    expect(d?.notes).toEqual([
      'xl list -l: uuid "nope" is not a UUID',
      'xl list -l: could not read b_info.vcpu_hard_affinity',
      'xl list -l: disks is not a list of objects',
    ]);
    expect(() => parseXlDomainConfig('(domain (name x))', 'x')).toThrow(ParseError);
    expect(() => parseXlDomainConfig('{"x": 1}', 'x')).toThrow(/expected an array/);
  });

  it('cpuRanges prints a CPU set as xl does', () => {
    expect(cpuRanges([3, 0, 1, 2, 8, 10, 11])).toBe('0-3,8,10-11');
    expect(cpuRanges([5])).toBe('5');
  });
});

describe('parseXmDomainConfig (xm list -l DOMAIN)', () => {
  it('reads the real Xen 4.0.1 SXP guest: uuid, memory, vCPUs, no pinning, its vif and its phy disk (uname over two lines)', () => {
    expect(parseXmDomainConfig(sample(SXP_SAMPLE), 'instance1.example.com')).toEqual({
      domid: 119,
      name: 'instance1.example.com',
      uuid: 'e430b4b8-dc91-9390-dfe0-b83c138ea0aa',
      type: 'pv',
      memoryMiB: 128,
      maxMemoryMiB: 128,
      vcpus: 1,
      maxVcpus: 1,
      cpus: null,
      cpusSoft: null,
      disks: [
        {
          vdev: 'sda',
          target: '/var/run/ganeti/instance-disks/instance1.example.com:0',
          mode: 'rw',
          format: null,
          backend: 'phy',
          cdrom: false,
        },
      ],
      nics: [
        {
          devid: null,
          mac: 'aa:00:00:30:8d:9d',
          bridge: 'xen-br0',
          ips: [],
          script: 'vif-bridge',
          gatewaydev: null,
          vifname: null,
          model: null,
        },
      ],
      notes: [],
    });
  });

  it("reads Domain-0's per-vCPU cpus lists (all the same: one range) and no devices", () => {
    expect(parseXmDomainConfig(sample(SXP_SAMPLE), 'Domain-0')).toMatchObject({
      domid: 0,
      vcpus: 1,
      maxVcpus: 24,
      cpus: '0-23',
      disks: [],
      nics: [],
    });
    expect(parseXmDomainConfig(sample(SXP_SAMPLE), 'nosuch')).toBeNull();
  });

  it('reads an ip (quoted by xend when it has a blank), tap disks, read-only mode, per-vCPU pinning; notes the unreadable', () => {
    const text = `(domain
    (domid 5)
    (uuid 6d808836-05fe-5c64-a669-dc9119a9eb84)
    (vcpus 2)
    (name gw)
    (cpus ((2 3) ()))
    (maxmem 1024)
    (memory lots)
    (image (hvm (kernel )))
    (device (vif (bridge br-wan) (mac 00:16:3E:0A:00:01) (ip '203.0.113.10 203.0.113.11') (script /etc/xen/scripts/vif-route)))
    (device (tap (uname tap:aio:/srv/gw.img) (dev xvdb:disk) (mode r)))
    (device (vbd (uname phy:/dev/vg0/gw) (dev xvda:disk) (mode x)))
)
`;
    expect(parseXmDomainConfig(text, 'gw')).toMatchObject({
      type: 'hvm',
      memoryMiB: null,
      maxMemoryMiB: 1024,
      cpus: ['2-3', 'any'],
      nics: [{ mac: '00:16:3e:0a:00:01', bridge: 'br-wan', ips: ['203.0.113.10', '203.0.113.11'], script: 'vif-route' }],
      disks: [
        { vdev: 'xvdb', target: '/srv/gw.img', backend: 'tap:aio', mode: 'ro' },
        { vdev: 'xvda', target: '/dev/vg0/gw', backend: 'phy', mode: null },
      ],
      notes: ['xm list -l: disk xvda:disk has mode "x"', 'xm list -l: (memory lots) is not a whole number'],
    });
  });

  it('output that is not SXP is a ParseError', () => {
    expect(() => parseXmDomainConfig('(domain (name x)', 'x')).toThrow(ParseError);
  });
});

describe('parseConfigFile (xl.cfg syntax)', () => {
  it('reads settings, strings in both quotes, numbers, lists over several lines, comments, += and ;', () => {
    const text = [
      '# gateway: the firewall',
      'name = "gateway"   # its name',
      "type = 'pvh'; memory = 512",
      'maxmem=0x400',
      'vif = [ "mac=00:16:3e:0a:00:01,bridge=br-wan,ip=203.0.113.10",',
      '        # the inside',
      "        'bridge=br-lan', ]",
      'vif += [ "bridge=br-dmz" ]',
      'extra = "console=hvc0 \\"quoted\\""',
      '',
    ].join('\n');
    const { values, unparsed } = parseConfigFile(text);
    expect(unparsed).toEqual([]);
    expect(Object.fromEntries(values)).toEqual({
      name: 'gateway',
      type: 'pvh',
      memory: 512,
      maxmem: 1024,
      vif: ['mac=00:16:3e:0a:00:01,bridge=br-wan,ip=203.0.113.10', 'bridge=br-lan', 'bridge=br-dmz'],
      extra: 'console=hvc0 "quoted"',
    });
  });

  it('reports statements that are not settings (Python in an xm config) with their lines, and reads the rest', () => {
    const text = [
      'import os, re',
      'kernel = "/boot/vmlinuz-" + os.uname()[2]',
      'memory = 256',
      'disk = [ "phy:/dev/vg0/a,xvda,w",',
      '         broken ]',
      'name = "unterminated',
      'vcpus = 2',
    ].join('\n');
    const { values, unparsed } = parseConfigFile(text);
    expect(Object.fromEntries(values)).toEqual({ memory: 256, vcpus: 2 });
    expect(unparsed.map((u) => u.lineNumber)).toEqual([1, 2, 4, 5, 6]);
    expect(unparsed[0]).toEqual({ lineNumber: 1, line: 'import os, re' });
  });
});

describe('parseDiskSpec (xl-disk-configuration)', () => {
  it('reads the legacy prefix:target,vdev,access form (the format positional skipped after a prefix)', () => {
    expect(parseDiskSpec('phy:/dev/vg0/web-disk,xvda,w')).toEqual({
      vdev: 'xvda',
      target: '/dev/vg0/web-disk',
      mode: 'rw',
      format: null,
      backend: 'phy',
      cdrom: false,
    });
    expect(parseDiskSpec('tap:aio:/srv/xen/mail.img,xvdb,r')).toMatchObject({
      target: '/srv/xen/mail.img',
      vdev: 'xvdb',
      mode: 'ro',
      backend: 'tap',
    });
    expect(parseDiskSpec('file:/srv/iso/d.iso,hdc:cdrom,r')).toMatchObject({ vdev: 'hdc', cdrom: true, mode: 'ro' });
    expect(parseDiskSpec('qcow2:/srv/a.qcow2,xvda,w')).toMatchObject({ format: 'qcow2', vdev: 'xvda' });
  });

  it('reads positional target,format,vdev,access and key=value settings, target= taking the rest', () => {
    expect(parseDiskSpec('/dev/vg0/a,raw,xvda,rw')).toMatchObject({ target: '/dev/vg0/a', format: 'raw', vdev: 'xvda', mode: 'rw' });
    expect(parseDiskSpec('/dev/vg0/a,,hda')).toMatchObject({ target: '/dev/vg0/a', format: 'raw', vdev: 'hda', mode: 'rw' });
    expect(parseDiskSpec('format=qcow2, vdev=xvdb, access=ro, backendtype=qdisk, target=/srv/a,b.qcow2')).toEqual({
      vdev: 'xvdb',
      target: '/srv/a,b.qcow2',
      mode: 'ro',
      format: 'qcow2',
      backend: 'qdisk',
      cdrom: false,
    });
    expect(parseDiskSpec(',,hdc:cdrom,r')).toMatchObject({ target: null, vdev: 'hdc', cdrom: true });
  });

  it('says why xl would refuse a spec instead of guessing', () => {
    expect(parseDiskSpec('/dev/vg0/a,xvda,w')).toMatch(/^unknown format "xvda"/);
    expect(parseDiskSpec('foo:/dev/x,xvda,w')).toBe('unknown deprecated disk prefix "foo:"');
    expect(parseDiskSpec('vdev=xvda,colour=red,target=/x')).toBe('unknown parameter "colour=red"');
    expect(parseDiskSpec('phy:/dev/x,xvda,rx')).toBe('unknown access "rx"');
    expect(parseDiskSpec('phy:/dev/x')).toMatch(/^no vdev/);
    expect(parseDiskSpec('phy:/dev/x,xvda,w,extra')).toMatch(/^too many positional/);
  });
});

describe('parseVifSpec', () => {
  it('reads mac, bridge, ip (several), script, gatewaydev, vifname, model; ignores the settings /show does not show', () => {
    expect(
      parseVifSpec(
        'mac=00:16:3E:0A:00:01, bridge=br-wan, ip=203.0.113.10 203.0.113.11, script=vif-route, gatewaydev=eth0, vifname=gw-wan, model=e1000, rate=10Mb/s',
      ),
    ).toEqual({
      devid: null,
      mac: '00:16:3e:0a:00:01',
      bridge: 'br-wan',
      ips: ['203.0.113.10', '203.0.113.11'],
      script: 'vif-route',
      gatewaydev: 'eth0',
      vifname: 'gw-wan',
      model: 'e1000',
    });
    expect(parseVifSpec('')).toMatchObject({ mac: null, bridge: null, ips: [] });
  });

  it('refuses what is not key=value or a MAC that is none', () => {
    expect(parseVifSpec('bridge=br0,br1')).toBe('"br1" is not key=value');
    expect(parseVifSpec('mac=00:16:3e')).toBe('mac "00:16:3e" is not a MAC address');
  });
});

describe('configuredFromFile', () => {
  it('reads what a config file states, and notes what it cannot read (with the file and line)', () => {
    const text = [
      'name = "mail"',
      'memory = "1024"',
      'vcpus = 2',
      'cpus = ["0", "2-3"]',
      'builder = "hvm"',
      "disk = [ 'phy:/dev/vg0/mail-disk,xvda,w', '/dev/vg0/mail-spool,xvdb,w' ]",
      "vif = [ 'bridge=br-lan,ip=10.0.0.25', 'bridge=br0,br1' ]",
      'maxmem = "lots"',
      'print("hello")',
    ].join('\n');
    const d = configuredFromFile(text, '/etc/xen/vm/mail.cfg');
    expect(d).toMatchObject({
      name: 'mail',
      type: 'hvm',
      memoryMiB: 1024,
      maxMemoryMiB: null,
      vcpus: 2,
      cpus: ['0', '2-3'],
      disks: [{ vdev: 'xvda', target: '/dev/vg0/mail-disk' }],
      nics: [{ bridge: 'br-lan', ips: ['10.0.0.25'] }],
    });
    expect(d.notes).toEqual([
      '/etc/xen/vm/mail.cfg:9: could not read "print(\\"hello\\")"',
      '/etc/xen/vm/mail.cfg: could not read the disk "/dev/vg0/mail-spool,xvdb,w": unknown format "xvdb" (the second positional is the format: "/dev/vg0/mail-spool,xvdb,w")',
      '/etc/xen/vm/mail.cfg: could not read the vif "bridge=br0,br1": "br1" is not key=value',
      '/etc/xen/vm/mail.cfg: maxmem is not a number: "lots"',
    ]);
  });
});
