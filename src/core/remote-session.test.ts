import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeRequest,
  encodeResponse,
  SESSION_EXIT_BAD_REQUEST,
  SESSION_SCRIPT,
  SessionAnswerTooLarge,
  SessionProtocolError,
  SessionRequestParser,
  SessionResponseParser,
} from './remote-session.ts';

const N1 = 'a1b2c3d4e5f6a7b8c9d0e1f2';
const N2 = 'ffffeeeeddddccccbbbbaaaa';

/**
 * Node's pipes to a child are Unix sockets, and bash with a socket on stdin at shell level 1 thinks rshd started it and
 * reads ~/.bashrc (CI runs with no SHLVL: pyenv's rehash there ran nine `cat`s before the script). The script runs
 * with a home that has no startup files, and no BASH_ENV or ENV.
 */
const HOME = mkdtempSync(join(tmpdir(), 'xenops-session-home-'));
afterAll(() => rmSync(HOME, { recursive: true, force: true }));
const { BASH_ENV: _bashEnv, ENV: _env, ...inherited } = process.env;

/** The session script under a real /bin/sh, fed requests on stdin: what a Dom0's shell answers. */
async function runScript(input: string, options: { shell?: string; path?: string } = {}): Promise<{ stdout: Buffer; code: number | null }> {
  const env = { ...inherited, HOME, ...(options.path ? { PATH: options.path } : {}) };
  const child = spawn(options.shell ?? 'sh', ['-c', SESSION_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { stdout: Buffer.concat(chunks), code };
}

/** Parses the answers to requests sent in order (ids and nonces as given). */
function parseAll(wire: Buffer, expected: [number, string][]) {
  const p = new SessionResponseParser();
  const out = [];
  let rest = wire;
  for (const [id, nonce] of expected) {
    p.expect(id, nonce);
    const r = p.push(rest);
    rest = Buffer.alloc(0);
    out.push(r);
  }
  return out;
}

describe('the session script under a real sh', () => {
  it('answers each request with every command’s exit code, stdout and stderr, byte-exact', async () => {
    const { stdout, code } = await runScript(
      `${encodeRequest(1, ["printf 'a\\nb'", "sh -c 'echo oops >&2; exit 3'"], N1)}${encodeRequest(2, ["printf 'caf\\303\\251\\n\\n'"], N2)}`,
    );
    expect(code).toBe(0);
    // Both answers arrive before the second is expected: the parser keeps the rest for the next request.
    const p = new SessionResponseParser();
    p.expect(1, N1);
    expect(p.push(stdout)).toEqual({
      id: 1,
      results: [
        { code: 0, stdout: 'a\nb', stderr: '' },
        { code: 3, stdout: '', stderr: 'oops\n' },
      ],
    });
    p.expect(2, N2);
    expect(p.push(Buffer.alloc(0))).toEqual({ id: 2, results: [{ code: 0, stdout: 'café\n\n', stderr: '' }] });
  });

  it('gives commands an empty stdin, so a command that reads cannot swallow the next request', async () => {
    const { stdout } = await runScript(`${encodeRequest(7, ['cat', 'echo after'], N1)}${encodeRequest(8, ['echo next'], N2)}`);
    const [a, b] = parseAll(stdout, [
      [7, N1],
      [8, N2],
    ]);
    expect(a?.results.map((x) => x.stdout)).toEqual(['', 'after\n']);
    expect(b?.results.map((x) => x.stdout)).toEqual(['next\n']);
  });

  it('runs each command exactly as written: quoted words stay words, nothing expands twice', async () => {
    const { stdout } = await runScript(encodeRequest(3, ["printf '%s|' 'a b' '$(echo no)' ';' '\\'"], N1));
    expect(parseAll(stdout, [[3, N1]])[0]?.results[0]?.stdout).toBe('a b|$(echo no)|;|\\|');
  });

  it('exits on a malformed request without running anything of it', async () => {
    const { stdout, code } = await runScript(`1 1 bad-nonce!\necho ran\n`);
    expect(code).toBe(SESSION_EXIT_BAD_REQUEST);
    expect(stdout.length).toBe(0);
  });
});

/** Dom0s run the script under dash (Debian's sh) or bash (sh on RHEL-like hosts): each one this machine has. */
const SHELLS = ['/bin/sh', '/bin/dash', '/bin/bash'].filter((s) => existsSync(s));

describe.each(SHELLS)('the session script under %s', (shell) => {
  const dir = mkdtempSync(join(tmpdir(), 'xenops-session-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const sh = (input: string, path?: string) => runScript(input, { shell, ...(path ? { path } : {}) });

  /** A directory of `cat` and `ls` wrappers that log each call (argv on one line) and run the real program. */
  function recordingPath(): { path: string; calls: () => string[] } {
    const bin = mkdtempSync(join(dir, 'bin-'));
    const log = join(bin, 'calls');
    writeFileSync(log, '');
    for (const tool of ['cat', 'ls']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`])
        .toString()
        .trim();
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >>'${log}'\nexec ${real} "$@"\n`, { mode: 0o755 });
    }
    return {
      path: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
      calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    };
  }

  it('keeps each command’s stderr with its own command, and starts every request afresh', async () => {
    const noisy = (text: string, code: number) => `sh -c 'printf ${text}; printf ${text}-err >&2; exit ${code}'`;
    const { stdout } = await sh(
      `${encodeRequest(1, [noisy('one', 1), "printf 'two'", noisy('three', 3), "printf 'four'"], N1)}${encodeRequest(2, ["printf 'five'"], N2)}`,
    );
    const [a, b] = parseAll(stdout, [
      [1, N1],
      [2, N2],
    ]);
    expect(a?.results).toEqual([
      { code: 1, stdout: 'one', stderr: 'one-err' },
      { code: 0, stdout: 'two', stderr: '' },
      { code: 3, stdout: 'three', stderr: 'three-err' },
      { code: 0, stdout: 'four', stderr: '' },
    ]);
    expect(b?.results).toEqual([{ code: 0, stdout: 'five', stderr: '' }]);
  });

  it('forks only for the commands and one cat (two when some stderr is not empty); ls -1 DIR and ls -l MISSING run no ls', async () => {
    const cfg = mkdtempSync(join(dir, 'cfg-'));
    writeFileSync(join(cfg, 'web.cfg'), '');
    const rec = recordingPath();
    const missing = join(dir, 'missing', 'vm');
    const { stdout } = await sh(
      `${encodeRequest(1, [`ls -1 ${cfg}`, `ls -1 ${cfg}/`], N1)}${encodeRequest(2, [`ls -1 ${missing}`, `ls -l ${cfg}/`, 'true', `ls -1 ${cfg}/web.cfg`, `ls -l ${missing}/`], N2)}`,
      rec.path,
    );
    const [a, b] = parseAll(stdout, [
      [1, N1],
      [2, N2],
    ]);
    expect(a?.results).toEqual([
      { code: 0, stdout: 'web.cfg\n', stderr: '' },
      { code: 0, stdout: 'web.cfg\n', stderr: '' },
    ]);
    // As GNU ls says it (the code and stderr of the real ls of the same path).
    const realMissing = spawnSync('ls', ['-1', missing], { env: { ...process.env, LC_ALL: 'C' } });
    expect(b?.results[0]).toEqual({ code: realMissing.status, stdout: '', stderr: realMissing.stderr.toString() });
    expect(b?.results[1]?.stdout).toMatch(/ web\.cfg\n$/);
    expect(b?.results[2]).toEqual({ code: 0, stdout: '', stderr: '' });
    // Not a directory: the real ls (it prints the path itself).
    expect(b?.results[3]).toEqual({ code: 0, stdout: `${cfg}/web.cfg\n`, stderr: '' });
    // The autostart listing of a host with no /etc/xen/auto: as GNU ls -l says it, without running it.
    const realMissingLong = spawnSync('ls', ['-l', `${missing}/`], { env: { ...process.env, LC_ALL: 'C' } });
    expect(b?.results[4]).toEqual({ code: realMissingLong.status, stdout: '', stderr: realMissingLong.stderr.toString() });
    const calls = rec.calls();
    expect(calls.filter((c) => c.startsWith('ls '))).toEqual([`ls -l ${cfg}/`, `ls -1 ${cfg}/web.cfg`]);
    // Request 1: one cat. Request 2: the missing dir's stderr makes it two (join, then send).
    expect(calls.filter((c) => c.startsWith('cat '))).toHaveLength(3);
  });

  it('lists a directory by its glob exactly as ls -1 does into a pipe', async () => {
    const d = mkdtempSync(join(dir, 'names-'));
    const names = ['a b.cfg', '-dash.cfg', 'new\nline.cfg', 'ünï.cfg', '*', "it's.cfg", 'z\\back.cfg', 'sub'];
    for (const n of names.filter((n) => n !== 'sub')) writeFileSync(join(d, n), '');
    mkdirSync(join(d, 'sub'));
    writeFileSync(join(d, '.hidden.cfg'), '');
    symlinkSync(join(dir, 'nowhere'), join(d, 'dangling.cfg'));
    symlinkSync(d, join(dir, 'link-to-dir'));
    const empty = mkdtempSync(join(dir, 'empty-'));
    const real = (p: string) => execFileSync('ls', ['-1', p], { env: { ...process.env, LC_ALL: 'C' } }).toString();
    const sorted = (text: string) => text.split('\n').filter(Boolean).sort();
    const rec = recordingPath();
    const { stdout } = await sh(encodeRequest(1, [`ls -1 ${d}`, `ls -1 ${join(dir, 'link-to-dir')}`, `ls -1 ${empty}`], N1), rec.path);
    const [r] = parseAll(stdout, [[1, N1]]);
    // ls sorts by the locale's collation, the glob by the shell's: the names are what count, not their order.
    expect(sorted(r?.results[0]?.stdout ?? '')).toEqual(sorted(real(d)));
    expect(r?.results[0]?.stdout).toContain('dangling.cfg\n');
    expect(r?.results[0]?.stdout).toContain('new\nline.cfg\n');
    expect(r?.results[0]?.stdout).not.toContain('.hidden');
    expect(sorted(r?.results[1]?.stdout ?? '')).toEqual(sorted(real(d)));
    expect(r?.results[2]).toEqual({ code: 0, stdout: real(empty), stderr: '' });
    expect(rec.calls().filter((c) => c.startsWith('ls '))).toEqual([]);
  });
});

describe('the protocol codecs', () => {
  it('parses a response split at any byte, including inside a multi-byte character', () => {
    const wire = encodeResponse({ id: 5, results: [{ code: 1, stdout: 'ünï\n', stderr: 'e' }] }, N1);
    for (let cut = 0; cut <= wire.length; cut++) {
      const p = new SessionResponseParser();
      p.expect(5, N1);
      const first = p.push(wire.subarray(0, cut));
      const got = first ?? p.push(wire.subarray(cut));
      expect(got).toEqual({ id: 5, results: [{ code: 1, stdout: 'ünï\n', stderr: 'e' }] });
      expect(p.pending).toBe(0);
    }
  });

  it('parses a batch fed one byte at a time: markers cut anywhere are still found, and only once', () => {
    const results = [
      { code: 0, stdout: `one\n${N1.slice(0, 10)}`, stderr: '' },
      { code: 2, stdout: '', stderr: `ls: cannot access 'x'\n\n${N2} E\n${N1.slice(0, -1)}` },
      { code: 127, stdout: 'ünï€\n'.repeat(3), stderr: 'e' },
    ];
    const wire = encodeResponse({ id: 3, results }, N1);
    const p = new SessionResponseParser();
    p.expect(3, N1);
    const got = [...wire].map((byte) => p.push(Buffer.from([byte])));
    expect(got.slice(0, -1).every((r) => r === null)).toBe(true);
    expect(got.at(-1)).toEqual({ id: 3, results });
    expect(p.pending).toBe(0);
  });

  it('takes an answer in time linear in its size: 8 MiB costs about 8 times 1 MiB, not 64 times', () => {
    const parse = (bytes: number) => {
      const wire = encodeResponse({ id: 1, results: [{ code: 0, stdout: 'x'.repeat(bytes), stderr: '' }] }, N1);
      let best = Number.POSITIVE_INFINITY;
      // The fastest of a few runs: a busy machine only ever adds time.
      for (let run = 0; run < 5; run++) {
        const p = new SessionResponseParser();
        p.expect(1, N1);
        const started = performance.now();
        let response: ReturnType<SessionResponseParser['push']> = null;
        for (let at = 0; at < wire.length; at += 16 * 1024) response = p.push(wire.subarray(at, at + 16 * 1024)) ?? response;
        best = Math.min(best, performance.now() - started);
        expect(response?.results[0]?.stdout.length).toBe(bytes);
      }
      return best;
    };
    parse(1024 * 1024);
    const ratio = parse(8 * 1024 * 1024) / parse(1024 * 1024);
    // Linear: ~8. Joining each chunk onto all before it and searching it all again: ~64.
    expect(ratio).toBeLessThan(24);
  });

  it('refuses an answer past its limit as soon as it is past, naming the limit', () => {
    const p = new SessionResponseParser({ maxBytes: 64 * 1024 });
    p.expect(1, N1);
    const wire = encodeResponse({ id: 1, results: [{ code: 0, stdout: 'x'.repeat(100 * 1024), stderr: '' }] }, N1);
    let taken = 0;
    const push = () => {
      for (; taken < wire.length; taken += 4096) p.push(wire.subarray(taken, taken + 4096));
    };
    expect(push).toThrow(SessionAnswerTooLarge);
    expect(push).toThrow('the answer was larger than 64 KiB');
    expect(taken).toBe(64 * 1024);
    // Exactly at the limit is an answer like any other.
    const exact = encodeResponse({ id: 2, results: [{ code: 0, stdout: 'y'.repeat(1000), stderr: '' }] }, N2);
    const q = new SessionResponseParser({ maxBytes: exact.length });
    q.expect(2, N2);
    expect(q.push(exact.subarray(0, 500))).toBeNull();
    expect(q.push(exact.subarray(500))?.results[0]?.stdout).toBe('y'.repeat(1000));
  });

  it('keeps nothing of the chunk a response came in once it is parsed, and only the rest of it otherwise', () => {
    const wire = encodeResponse({ id: 1, results: [{ code: 0, stdout: 'ok\n', stderr: '' }] }, N1);
    // As ssh2 hands data over: a view into a larger packet buffer.
    const packet = Buffer.alloc(64 * 1024);
    wire.copy(packet);
    const p = new SessionResponseParser();
    p.expect(1, N1);
    expect(p.push(packet.subarray(0, wire.length))?.results[0]?.stdout).toBe('ok\n');
    expect(p.retained).toBe(0);
    // Two answers in one chunk (the second not asked yet): only the second's bytes stay.
    const second = encodeResponse({ id: 2, results: [{ code: 0, stdout: 'two', stderr: '' }] }, N2);
    const both = Buffer.alloc(64 * 1024);
    wire.copy(both);
    second.copy(both, wire.length);
    const q = new SessionResponseParser();
    q.expect(1, N1);
    q.push(both.subarray(0, wire.length + second.length));
    expect(q.retained).toBe(second.length);
    q.expect(2, N2);
    expect(q.push(Buffer.alloc(0))?.results[0]?.stdout).toBe('two');
  });

  it('keeps output that looks like the markers of another request', () => {
    const tricky = `x\n${N2} E\n${N2} 0\n`;
    const wire = encodeResponse({ id: 9, results: [{ code: 0, stdout: tricky, stderr: tricky }] }, N1);
    expect(parseAll(wire, [[9, N1]])[0]?.results[0]).toEqual({ code: 0, stdout: tricky, stderr: tricky });
  });

  it('refuses output that is not the protocol, or an answer to another request', () => {
    const p = new SessionResponseParser();
    p.expect(1, N1);
    expect(() => p.push(Buffer.from('Welcome to the Dom0!\n'))).toThrow(SessionProtocolError);
    const q = new SessionResponseParser();
    q.expect(2, N1);
    expect(() => q.push(encodeResponse({ id: 1, results: [] }, N1))).toThrow(SessionProtocolError);
    expect(() => new SessionResponseParser().push(Buffer.from('R 1 0\n'))).toThrow(/nothing was asked/);
    // A first line that cannot be the header is refused without waiting for its end.
    const r = new SessionResponseParser();
    r.expect(1, N1);
    expect(() => r.push(Buffer.from(`Last login: ${'x'.repeat(80)}`))).toThrow(SessionProtocolError);
  });

  it('never encodes a command holding a newline, or a guessable nonce', () => {
    expect(() => encodeRequest(1, ["echo 'a\nb'"], N1)).toThrow(/newline/);
    expect(() => encodeRequest(1, [], N1)).toThrow(/at least one/);
    expect(() => encodeRequest(1, ['true'], 'short')).toThrow(/nonce/);
  });

  it('the request parser reassembles requests from arbitrary chunks', () => {
    const wire = `${encodeRequest(1, ['a', 'b'], N1)}${encodeRequest(2, ['c'], N2)}`;
    const p = new SessionRequestParser();
    const got = [...wire].flatMap((ch) => p.push(ch));
    expect(got).toEqual([
      { id: 1, nonce: N1, commands: ['a', 'b'] },
      { id: 2, nonce: N2, commands: ['c'] },
    ]);
    expect(() => new SessionRequestParser().push('hello\n')).toThrow(SessionProtocolError);
  });
});
