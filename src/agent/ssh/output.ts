import { StringDecoder } from 'node:string_decoder';
import { describeBytes } from '../../core/remote-session.ts';
import type { RunOptions } from './types.ts';

/** Far above any listing or console snapshot, far below what would take the agent down. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * An exec channel's output, decoded as UTF-8 across chunk boundaries, handed on to the caller's callbacks as it
 * comes and kept up to `maxBytes` (stdout and stderr together); past that `onOverflow` is called once and nothing
 * more is kept.
 */
export class ExecOutput {
  private readonly out = new StringDecoder('utf8');
  private readonly err = new StringDecoder('utf8');
  private readonly kept = { stdout: [] as string[], stderr: [] as string[] };
  private bytes = 0;
  private full = false;

  constructor(
    private readonly maxBytes: number,
    private readonly callbacks: Pick<RunOptions, 'onStdout' | 'onStderr'>,
    private readonly onOverflow: () => void,
  ) {}

  stdout(chunk: Buffer): void {
    this.take(chunk, this.out, this.kept.stdout, this.callbacks.onStdout);
  }

  stderr(chunk: Buffer): void {
    this.take(chunk, this.err, this.kept.stderr, this.callbacks.onStderr);
  }

  /** All that was kept; a character left cut at the very end is handed on too (as U+FFFD). */
  end(): { stdout: string; stderr: string } {
    this.flush(this.out, this.kept.stdout, this.callbacks.onStdout);
    this.flush(this.err, this.kept.stderr, this.callbacks.onStderr);
    return { stdout: this.kept.stdout.join(''), stderr: this.kept.stderr.join('') };
  }

  private flush(decoder: StringDecoder, kept: string[], onText?: (text: string) => void): void {
    const rest = decoder.end();
    if (!rest) return;
    kept.push(rest);
    onText?.(rest);
  }

  private take(chunk: Buffer, decoder: StringDecoder, kept: string[], onText?: (text: string) => void): void {
    if (this.full) return;
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      this.full = true;
      this.onOverflow();
      return;
    }
    const text = decoder.write(chunk);
    if (!text) return;
    kept.push(text);
    onText?.(text);
  }
}

/** Why a command's output was not read: it passed the pool's limit. */
export function tooLarge(what: string, host: string, limit: number): string {
  return `the output of ${what} on ${host} was larger than ${describeBytes(limit)}, the most xenops reads; it was not read to its end, so its outcome is unknown`;
}
