import { describe, expect, it } from 'vitest';
import type { DomainSummary } from '../../core/xen.ts';
import type { RunResult } from '../ssh/types.ts';
import { assembleDetail, type ShowReadings } from './show.ts';

const ok = (stdout: string): RunResult => ({ code: 0, stdout, stderr: '' });
const invalid: RunResult = { code: 1, stdout: '', stderr: 'vault is an invalid domain identifier (rc=-6)\n' };

const stopped: DomainSummary = {
  name: 'vault',
  uuid: null,
  id: null,
  status: 'defined',
  flags: '',
  memoryMiB: null,
  vcpus: null,
  cpuSeconds: null,
  configPath: '/etc/xen/vm/vault.cfg',
  autostart: null,
};
const running: DomainSummary = {
  ...stopped,
  uuid: '039e9ee6-4a84-3055-4c81-8ba426ae2656',
  id: 9,
  status: 'running',
  flags: 'r-----',
  memoryMiB: 1024,
  vcpus: 1,
  cpuSeconds: 3,
};

function readings(over: Partial<ShowReadings>): ShowReadings {
  return {
    kind: 'xl',
    host: 'xen1',
    domain: 'vault',
    configDirs: ['/etc/xen/vm'],
    summary: stopped,
    listLong: invalid,
    networkList: invalid,
    blockList: invalid,
    vcpuList: invalid,
    uptime: invalid,
    configFiles: new Map(),
    ...over,
  };
}

// An xm-era config as people write them: a VNC password, an iSCSI LUN with CHAP credentials in its URL, a
// block-iscsi target with its password, a Ceph rbd target with its key.
const CONFIG = [
  "name = 'vault'",
  'memory = 1024',
  'vnc = 1',
  'vncpasswd = r"Vnc-Pa55"',
  'spicepasswd = "Sp1ce, Pa55" + suffix',
  'disk = [',
  "    'format=raw, vdev=xvda, access=rw, target=iscsi://xen:Chap-S3cret@10.0.0.5/iqn.2010-01.org.example:vault/0',",
  "    'vdev=xvdb, script=block-iscsi, target=iqn=iqn.2010-01.org.example:data,portal=10.0.0.5:3260,user=xen,password=Chap-S3cret',",
  "    'vdev=xvdc, backendtype=qdisk, target=rbd:rbd/vault-logs:id=xen:key=AQBCeph+Key==:mon_host=10.0.0.7',",
  "    'vdev=xvdd, password=Chap-S3cret, target=/dev/vg0/x',",
  ']',
  '',
].join('\n');

describe('/show keeps secrets of the config out of chat', () => {
  it('a stopped domain: disk targets and the notes quoting lines say neither password nor key', () => {
    const d = assembleDetail(readings({ configFiles: new Map([['/etc/xen/vm/vault.cfg', ok(CONFIG)]]) }));
    const page = JSON.stringify(d);
    for (const secret of ['Vnc-Pa55', 'Sp1ce', 'Pa55', 'Chap-S3cret', 'AQBCeph']) expect(page).not.toContain(secret);
    // What is not secret is still shown.
    expect(d.disks.map((k) => k.target)).toEqual([
      'iscsi://xen:[redacted]@10.0.0.5/iqn.2010-01.org.example:vault/0',
      'iqn=iqn.2010-01.org.example:data,portal=10.0.0.5:3260,user=xen,password=[redacted]',
      'rbd:rbd/vault-logs:id=xen:key=[redacted]',
    ]);
    expect(d.notes).toContainEqual('/etc/xen/vm/vault.cfg:4: could not read "vncpasswd = [redacted]"');
    expect(d.notes.some((n) => n.includes('could not read the disk') && n.includes('/dev/vg0/x'))).toBe(true);
  });

  it('a running domain: the target xl list -l stores is shown without its credentials', () => {
    const listLong = JSON.stringify([
      {
        domid: 9,
        config: {
          c_info: { type: 'hvm', name: 'vault', uuid: running.uuid },
          b_info: { max_vcpus: 1, max_memkb: 1048576, target_memkb: 1048576 },
          disks: [
            { pdev_path: 'iscsi://xen:Chap-S3cret@10.0.0.5/iqn.2010-01.org.example:vault/0', vdev: 'xvda', backend: 'qdisk', readwrite: 1 },
          ],
        },
      },
    ]);
    const d = assembleDetail(readings({ summary: running, listLong: ok(listLong) }));
    expect(d.source).toBe('toolstack');
    expect(d.disks[0]?.target).toBe('iscsi://xen:[redacted]@10.0.0.5/iqn.2010-01.org.example:vault/0');
    expect(JSON.stringify(d)).not.toContain('Chap-S3cret');
  });

  it('an SXP that xm cut short is noted without the secret on the line it quotes', () => {
    // Cut off right after the password: the quoted string never closes, and the error quotes its line.
    const sxp = ['(domain', '    (domid 9)', '    (name vault)', "    (image (hvm (vnc 1) (vncpasswd 'Vnc-Pa55"].join('\n');
    const d = assembleDetail(readings({ kind: 'xm', summary: running, listLong: ok(sxp) }));
    expect(d.notes.some((n) => n.startsWith('could not read xm list -l'))).toBe(true);
    expect(JSON.stringify(d)).not.toContain('Vnc-Pa55');
  });
});
