import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { loadSimFleetSpec } from '../src/config/simulator-spec.ts';
import { fleetConfigYaml, hostName, realHostConfigYaml, simVar } from './fleet.ts';
import {
  clientsOfPorts,
  connectionKind,
  countKinds,
  parseClientList,
  parseHeapSpaces,
  parseProcNetTcp,
  parseProcStatCpu,
  portOf,
  stealPct,
  vmRssMiB,
} from './parse.ts';
import { describeKinds } from './probe.ts';
import { formatTable, KEYS, median, percentile, type Results, round, summarize, TARGETS, tally, toJson, verdict } from './report.ts';

const target = (key: string) => {
  const t = TARGETS.find((x) => x.key === key);
  if (!t) throw new Error(`no target ${key}`);
  return t;
};

describe('percentiles', () => {
  it('interpolates between closest ranks (numpy default)', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
    expect(percentile([10, 20], 0)).toBe(10);
    expect(percentile([10, 20], 100)).toBe(20);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90)).toBe(10);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBeCloseTo(99.01, 10);
  });

  it('does not reorder its input and is NaN for no samples', () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes', () => {
    expect(summarize([4, 1, 3, 2])).toEqual({ n: 4, p50: 2.5, p90: 3.7, p99: 3.9699999999999998, min: 1, max: 4, mean: 2.5 });
    expect(summarize([]).n).toBe(0);
  });

  it('rounds by magnitude', () => {
    expect(round(1.23456)).toBe(1.23);
    expect(round(123.456)).toBe(123.5);
    expect(round(1234.56)).toBe(1235);
    expect(round(-0.126)).toBe(-0.13);
  });
});

describe('verdicts', () => {
  it('says met or not met, and by how much, for an upper limit', () => {
    expect(verdict(target('listP50Ms'), 3)).toEqual({ status: 'met', by: '2 ms to spare' });
    expect(verdict(target('listP50Ms'), 5)).toEqual({ status: 'met', by: '0 ms to spare' });
    expect(verdict(target('listP50Ms'), 12.5)).toEqual({ status: 'NOT MET', by: '+7.5 ms over (2.5x the limit)' });
    expect(verdict(target('botRedisConnections1000'), 2003)).toEqual({ status: 'NOT MET', by: '+1,993 over (200.3x the limit)' });
  });

  it('and for a lower limit', () => {
    expect(verdict(target('readJobsPerSecond'), 300)).toEqual({ status: 'NOT MET', by: '1,200/s short (needs 5x)' });
    expect(verdict(target('speedupVsFreshSsh'), 25)).toEqual({ status: 'met', by: '5x above' });
  });

  it('has no verdict for context figures or missing values', () => {
    expect(verdict(target('directExecP50Ms'), 1).status).toBe('info');
    expect(verdict(target('listP50Ms'), null).status).toBe('no value');
    expect(verdict(target('listP50Ms'), Number.NaN).status).toBe('no value');
  });

  it('covers every key once', () => {
    expect(TARGETS.map((t) => t.key).sort()).toEqual([...KEYS].sort());
  });
});

describe('the report', () => {
  const results: Results = {
    listP50Ms: { value: 12.3456, why: 'p50 of 300' },
    readJobsPerSecond: { value: 2000 },
    botRssGrowthPct: { value: null, reason: 'the bot died' },
  };

  it('prints one row per target with status, distance and why (or the reason for a null)', () => {
    const table = formatTable(results);
    const lines = table.split('\n');
    expect(lines).toHaveLength(2 + TARGETS.length);
    const row = (key: string) => lines.find((l) => l.startsWith(`${key} `)) ?? '';
    expect(row('listP50Ms')).toMatch(/\| 12\.35 ms +\| <= 5 ms +\| NOT MET +\| \+7\.35 ms over \(2\.47x the limit\) +\| p50 of 300$/);
    expect(row('readJobsPerSecond')).toMatch(/\| 2,000\/s +\| >= 1,500\/s +\| met +\| 500\/s above/);
    expect(row('botRssGrowthPct')).toMatch(/\| null +\| <= 10% +\| no value +\| +\| not measured: the bot died$/);
    expect(row('discordDeferP99Ms')).toMatch(/not measured: not run$/);
    // Columns line up.
    const bars = (l: string) => [...l].flatMap((c, i) => (c === '|' ? [i] : [])).slice(0, 5);
    expect(bars(row('listP50Ms'))).toEqual(bars(lines[0] as string));
  });

  it('tallies only figures with a goal', () => {
    expect(tally(results)).toEqual({ met: 1, notMet: 1, noValue: TARGETS.filter((t) => t.goal).length - 2 });
  });

  it('is one JSON object with every key, a number or null, and the reasons for the nulls', () => {
    const j = toJson(results, { quick: true });
    for (const k of KEYS) expect(k in j).toBe(true);
    expect(j['listP50Ms']).toBe(12.35);
    expect(j['botRssGrowthPct']).toBeNull();
    expect(j['reasons']).toMatchObject({ botRssGrowthPct: 'the bot died', listP99Ms: 'not run' });
    expect(j['why']).toEqual({ listP50Ms: 'p50 of 300' });
    expect(j['meta']).toEqual({ quick: true });
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});

describe('process and Redis parsing', () => {
  it("reads V8's young and old generations from prom-client's /metrics", () => {
    const mib = 1048576;
    const text = [
      '# HELP nodejs_heap_space_size_total_bytes Process heap space size total from Node.js in bytes.',
      '# TYPE nodejs_heap_space_size_total_bytes gauge',
      `nodejs_heap_space_size_total_bytes{space="read_only"} 0`,
      `nodejs_heap_space_size_total_bytes{space="new"} ${32 * mib}`,
      `nodejs_heap_space_size_total_bytes{space="old"} ${29.5 * mib}`,
      `nodejs_heap_space_size_used_bytes{space="new"} ${4 * mib}`,
      `nodejs_heap_space_size_used_bytes{space="old"} ${21 * mib}`,
      `nodejs_heap_space_size_used_bytes{space="new_large_object"} ${1 * mib}`,
    ].join('\n');
    expect(parseHeapSpaces(text)).toEqual({ youngCommitted: 32, youngUsed: 4, oldCommitted: 29.5, oldUsed: 21 });
    expect(parseHeapSpaces(text.replace(/^nodejs_heap_space_size_used_bytes\{space="old"\}.*$/m, ''))).toBeNull();
  });

  it('reads VmRSS in MiB', () => {
    expect(vmRssMiB('Name:\tnode\nVmRSS:\t  204800 kB\nThreads: 11\n')).toBe(200);
    expect(vmRssMiB('Name:\tzombie\n')).toBeNull();
  });

  it('reads the CPU counters of /proc/stat (guest time counted once) and the share stolen between two readings', () => {
    const before = parseProcStatCpu('cpu  100 5 50 800 10 1 4 30 7 0\ncpu0 50 2 25 400 5 0 2 15 0 0\nintr 1\n');
    expect(before).toEqual({ total: 1000, steal: 30 });
    const after = parseProcStatCpu('cpu  300 5 150 1200 10 1 4 330 9 0\n');
    expect(after).toEqual({ total: 2000, steal: 330 });
    expect(stealPct(before as NonNullable<typeof before>, after as NonNullable<typeof after>)).toBe(30);
    expect(parseProcStatCpu('intr 1\n')).toBeNull();
    expect(stealPct({ total: 5, steal: 1 }, { total: 5, steal: 1 })).toBe(0);
  });

  it('parses /proc/net/tcp and tcp6 rows', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 6017 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:C3A2 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 98765 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(parseProcNetTcp(tcp)).toEqual([
      { localAddress: '127.0.0.1', localPort: 6379, remoteAddress: '0.0.0.0', remotePort: 0, state: 10, inode: 6017 },
      { localAddress: '127.0.0.1', localPort: 50082, remoteAddress: '127.0.0.1', remotePort: 6379, state: 1, inode: 98765 },
    ]);
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0000000000000000FFFF00000100007F:C3A3 0000000000000000FFFF00000100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 0 10 -1',
      '   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    const rows = parseProcNetTcp(tcp6);
    expect(rows[0]).toMatchObject({ localAddress: '127.0.0.1', localPort: 50083, remotePort: 6379, state: 1, inode: 4242 });
    expect(rows[1]).toMatchObject({ localAddress: '0000:0000:0000:0000:0000:0000:0000:0001', localPort: 8080, state: 10 });
  });

  it('parses CLIENT LIST and matches clients to a process by port', () => {
    const list = [
      'id=7 addr=127.0.0.1:50082 laddr=127.0.0.1:6379 fd=8 name= age=1 idle=1 flags=N db=0 cmd=evalsha user=default',
      'id=8 addr=127.0.0.1:50083 laddr=127.0.0.1:6379 fd=9 name={x}:aG9zdC14ZW4x:qe age=1 idle=0 flags=b db=0 cmd=xread',
      'id=9 addr=127.0.0.1:50999 laddr=127.0.0.1:6379 fd=10 name=someone-else age=1 idle=0 flags=N db=0 cmd=ping',
      '',
    ].join('\n');
    const clients = parseClientList(list);
    expect(clients).toHaveLength(3);
    expect(clients[1]).toMatchObject({ id: '8', name: '{x}:aG9zdC14ZW4x:qe', cmd: 'xread' });
    expect(clients[0]?.['name']).toBe('');
    const mine = clientsOfPorts(clients, new Set([50082, 50083]));
    expect(mine.map((c) => c['id'])).toEqual(['7', '8']);
    expect(portOf('[::1]:6379')).toBe(6379);
    expect(portOf(undefined)).toBeNull();
  });

  it('names what opened a connection and counts them', () => {
    expect(connectionKind('{x}:aG9zdC14ZW4x:qe')).toBe('QueueEvents');
    expect(connectionKind('{x}:aG9zdC14ZW4x')).toBe('Worker (blocking)');
    expect(connectionKind('{x}:aG9zdC14ZW4x:w:agent-1')).toBe('Worker (blocking)');
    expect(connectionKind('')).toMatch(/^unnamed/);
    expect(connectionKind('my-tool')).toBe('named my-tool');
    const kinds = countKinds([{ name: '{x}:YQ==:qe' }, { name: '{x}:Yg==:qe' }, { name: '' }]);
    expect(kinds).toEqual([
      ['QueueEvents', 2],
      ['unnamed (Queue producers, ioredis clients)', 1],
    ]);
    expect(describeKinds(kinds, 2)).toBe('2 QueueEvents (1 per host) + 1 unnamed (Queue producers, ioredis clients)');
    expect(
      describeKinds(
        [
          ['x', 2003],
          ['y', 5],
        ],
        1000,
      ),
    ).toBe('2003 x (2 per host + 3) + 5 y');
    expect(describeKinds([], 10)).toBe('none');
  });
});

describe('bench configs', () => {
  it('names hosts in numeric order and their sim.env variables', () => {
    expect(hostName(0)).toBe('h0001');
    expect(hostName(999)).toBe('h1000');
    expect(simVar('h0042')).toBe('XENOPS_SIM_H0042');
  });

  it('a generated fleet config validates: the simulator section and, with the sim variables set, the config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenops-bench-test-'));
    try {
      const yaml = fleetConfigYaml({ hosts: 3, domainsPerHost: 20, discordGuildId: '400000000000000001' });
      const spec = loadSimFleetSpec(yaml);
      expect(Object.keys(spec.hosts)).toEqual(['h0001', 'h0002', 'h0003']);
      expect(spec.hosts['h0002']?.domains).toHaveLength(20);
      expect(spec.hosts['h0002']?.domains.filter((d) => !d.running)).toHaveLength(2);
      const path = join(dir, 'c.yaml');
      writeFileSync(path, yaml);
      const env: Record<string, string> = { XENOPS_SIM_CLIENT_KEY: '/nonexistent/key', XENOPS_REDIS_PREFIX: 'bench-x' };
      for (const h of ['h0001', 'h0002', 'h0003']) {
        env[`${simVar(h)}_PORT`] = '2222';
        env[`${simVar(h)}_HOSTKEY`] = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
      }
      const config = loadConfig(path, env);
      expect(Object.keys(config.hosts)).toHaveLength(3);
      expect(config.redis.prefix).toBe('{bench-x}');
      expect(config.discord?.token).toBeUndefined();
      expect(config.terminal.defaultUser).toBe('bench');
      const real = join(dir, 'r.yaml');
      writeFileSync(
        real,
        realHostConfigYaml({
          name: 'sshd1',
          port: 2200,
          user: 'root',
          privateKeyPath: '/k',
          hostKey: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
        }),
      );
      const r = loadConfig(real, { XENOPS_REDIS_PREFIX: 'bench-y' });
      expect(Object.keys(r.hosts)).toEqual(['sshd1']);
      expect(r.sampling.enabled).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
