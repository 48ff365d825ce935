import { parseInfo } from '../agent/parsers/info.ts';
import { parseList } from '../agent/parsers/list.ts';
import { parseXentop } from '../agent/parsers/xentop.ts';

export interface ParseCommandOutput {
  exitCode: 0 | 1;
  stdout: string;
  stderr: string;
}

const ok = (value: unknown): ParseCommandOutput => ({ exitCode: 0, stdout: `${JSON.stringify(value, null, 2)}\n`, stderr: '' });
const fail = (reason: string): ParseCommandOutput => ({ exitCode: 1, stdout: '', stderr: `xenops parse: ${reason}\n` });

/**
 * `xenops parse list|top|info`: real toolstack output in, JSON out. Lines that are not rows are ignored; input
 * that is not the format at all (nothing recognised) is exit 1 with a one-line reason.
 */
export function runParse(kind: 'list' | 'top' | 'info', input: string): ParseCommandOutput {
  switch (kind) {
    case 'list': {
      const { rows, sawHeader } = parseList(input);
      if (rows.length === 0 && !sawHeader) return fail('input is not `xl list` / `xm list` output (no header and no domain row found)');
      return ok(rows);
    }
    case 'top': {
      const { rows, sawHeader } = parseXentop(input);
      if (rows.length === 0 && !sawHeader) return fail('input is not `xentop -b` output (no NAME STATE … header and no domain row found)');
      return ok(rows);
    }
    case 'info': {
      const info = parseInfo(input);
      // Every xl/xm info prints these; a colon-separated text without them is something else.
      if (!('xen_major' in info || 'xen_version' in info || 'nr_cpus' in info)) {
        return fail('input is not `xl info` / `xm info` output (no nr_cpus / xen_major key found)');
      }
      return ok(info);
    }
    default:
      return kind satisfies never;
  }
}
