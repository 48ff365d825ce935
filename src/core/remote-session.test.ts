import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  encodeRequest,
  encodeResponse,
  SESSION_EXIT_BAD_REQUEST,
  SESSION_SCRIPT,
  SessionProtocolError,
  SessionRequestParser,
  SessionResponseParser,
} from './remote-session.ts';

const N1 = 'a1b2c3d4e5f6a7b8c9d0e1f2';
const N2 = 'ffffeeeeddddccccbbbbaaaa';

/** The session script under a real /bin/sh, fed requests on stdin: what a Dom0's shell answers. */
async function runScript(input: string): Promise<{ stdout: Buffer; code: number | null }> {
  const child = spawn('sh', ['-c', SESSION_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
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
