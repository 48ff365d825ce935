import { describe, expect, it } from 'vitest';
import { fixture } from '../../test/helpers/fixtures.ts';
import { type CommandIO, runCommand } from './interpreter.ts';
import { SimFleet } from './model.ts';

/**
 * xentop's option errors, as tools/xentop/xentop.c main() handles them (the same from 3.x to HEAD; shared/xen-toolstack.md
 * §2 cites xentop.c:1300-1360): getopt_long writes `xentop: invalid option -- 'c'` (`unrecognized option '--x'`) on
 * stderr, then `case '?': usage(argv[0]); exit(0);` — the usage text on stdout and exit status 0. The usage text is
 * the reference's sample xen-samples/xentop-help__xentop-ng-xcpng-8.3.txt (XCP-ng 8.3, xen 4.17). Xen 3.x's xentop
 * has no -f (`-f/--full-name (4.0+)`, §2): `xentop -b -d 1 -f` there prints the usage and exits 0, sampling nothing.
 */
const fleet = () =>
  new SimFleet({ hosts: { xen1: { domains: [{ name: 'web', memoryMiB: 512, vcpus: 1, running: true }] } } }, () => 1_000_000);

async function sh(f: SimFleet, command: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    signal: new AbortController().signal,
    sleep: () => Promise.resolve(),
  };
  const code = await runCommand(f, f.host('xen1'), command, io, { shutdownDelayMs: 0 });
  return { code, out, err };
}

describe('xentop option errors (tools/xentop/xentop.c main)', () => {
  it('an unknown short option: getopt says so on stderr, the usage goes to stdout, exit 0', async () => {
    const r = await sh(fleet(), 'xentop -b -i 1 -q');
    expect(r).toEqual({ code: 0, out: fixture('xentop-help__xentop-ng-xcpng-8.3.txt'), err: "xentop: invalid option -- 'q'\n" });
  });

  it('an unknown long option is "unrecognized"', async () => {
    const r = await sh(fleet(), 'xentop --bogus');
    expect(r).toEqual({ code: 0, out: fixture('xentop-help__xentop-ng-xcpng-8.3.txt'), err: "xentop: unrecognized option '--bogus'\n" });
  });

  it('-h prints the usage and exits 0', async () => {
    expect(await sh(fleet(), 'xentop -h')).toEqual({ code: 0, out: fixture('xentop-help__xentop-ng-xcpng-8.3.txt'), err: '' });
  });

  it('a host whose xentop predates -f (Xen 3.x) refuses it the same way, and prints no table', async () => {
    const f = fleet();
    f.host('xen1').xentopFullName = false;
    const r = await sh(f, 'xentop -b -d 1 -f');
    expect(r.code).toBe(0);
    expect(r.err).toBe("xentop: invalid option -- 'f'\n");
    expect(r.out).toMatch(/^Usage: xentop \[OPTION\]\n/);
    expect(r.out).not.toMatch(/full-name|NAME {2}STATE/);
    // Without -f it samples as before.
    expect((await sh(f, 'xentop -b -i 1 -d 1')).out).toMatch(/^ {6}NAME {2}STATE/);
  });
});
