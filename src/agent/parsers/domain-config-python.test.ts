import { describe, expect, it } from 'vitest';
import { configuredFromFile, parseConfigFile } from './domain-config.ts';

// xm configs are Python: what Python does with these lines is what xm create gets.

describe('/show of an xm config: Python that the settings reader must not misread', () => {
  it('a block of old settings commented out with a triple-quoted string is not read as settings', () => {
    const text = [
      "name = 'web'",
      'memory = 2048',
      'vcpus = 2',
      "'''",
      'Before the upgrade:',
      "name = 'web-old'",
      'memory = 4096',
      'vcpus = 8',
      "disk = [ 'phy:/dev/vg0/web-old,xvda,w' ]",
      "'''",
      "disk = [ 'phy:/dev/vg0/web,xvda,w' ]",
      '"""Also quoted: memory = 1"""',
      '',
    ].join('\n');
    const d = configuredFromFile(text, '/etc/xen/vm/web.cfg');
    expect(d).toMatchObject({ name: 'web', memoryMiB: 2048, vcpus: 2, disks: [{ vdev: 'xvda', target: '/dev/vg0/web' }] });
    expect(parseConfigFile(text).values.get('name')).toBe('web');
  });

  it('a setting Python computes from an earlier one is unknown, not the earlier value (name too: start checks it)', () => {
    const text = ["name = 'web'", 'name = name + "-prod"', 'memory = 1024', 'memory = memory * 2', 'vcpus = 2', ''].join('\n');
    const parsed = parseConfigFile(text);
    expect(parsed.values.has('name')).toBe(false);
    expect(parsed.values.has('memory')).toBe(false);
    expect(parsed.values.get('vcpus')).toBe(2);
    const d = configuredFromFile(text, '/etc/xen/vm/web.cfg');
    expect(d.name).toBeNull();
    expect(d.memoryMiB).toBeNull();
    expect(d.notes).toEqual([
      '/etc/xen/vm/web.cfg:2: could not read "name = name + \\"-prod\\""',
      '/etc/xen/vm/web.cfg:4: could not read "memory = memory * 2"',
    ]);
  });

  it('settings inside an if block (or after `if …:` on its line) are unknown: Python may not run them', () => {
    const text = [
      'import socket',
      "name = 'web'",
      'memory = 1024',
      "if socket.gethostname() == 'xen2':",
      "    name = 'web-b'",
      '',
      '    # more memory on the big host',
      '    memory = 4096',
      'else:',
      '    vcpus = 4; maxmem = 8192',
      "if socket.gethostname() == 'xen3': maxvcpus = 8; cpus = '2-3'",
      'type = "pv"',
      '',
    ].join('\n');
    const { values } = parseConfigFile(text);
    expect(Object.fromEntries(values)).toEqual({ type: 'pv' });
  });

  it('+= adds numbers as Python does', () => {
    expect(parseConfigFile('memory = 1024\nmemory += 512\n').values.get('memory')).toBe(1536);
  });
});

describe('/show of a config file that is huge or not text', () => {
  it('a binary file is said to be one, not quoted line by line into chat', () => {
    const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0x0a, 0x3d, 0x22, 0x0a]);
    const text = `${bytes.toString('latin1')}\n`.repeat(2000);
    const d = configuredFromFile(text, '/etc/xen/vm/web.cfg');
    expect(d.notes).toEqual(['/etc/xen/vm/web.cfg is not a text file (it holds NUL bytes): not read']);
    expect(d.disks).toEqual([]);
  });

  it('a huge file of lines that are no settings is read in linear time and named in at most 21 notes', () => {
    const text = Array.from({ length: 50_000 }, (_, i) => `Jan  1 00:00:00 xen1 kernel: [${i}.000] eth0: link up (1000)`).join('\n');
    const started = performance.now();
    const d = configuredFromFile(text, '/etc/xen/vm/web.cfg');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(4000);
    expect(d.notes).toHaveLength(21);
    expect(d.notes.at(-1)).toBe('/etc/xen/vm/web.cfg: … and 49980 more lines it could not read (not listed)');
  }, 120_000);

  it('a very long unreadable line is quoted cut short', () => {
    const d = configuredFromFile(`name = "web"\nkernel = ${'x'.repeat(100_000)}\n`, '/etc/xen/vm/web.cfg');
    expect(d.notes).toHaveLength(1);
    expect((d.notes[0] as string).length).toBeLessThan(300);
  });
});
