import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Attachment } from '../../core/reply.ts';

/** Where the terminal saves attachments unless told otherwise (relative to the process's working directory). */
export const DEFAULT_ATTACHMENTS_DIR = 'var/attachments';

/**
 * A file name that stays inside its directory: letters, digits, `.`, `_` and `-` only (no separators, no `..`,
 * no leading dot), at most 100 characters, the extension kept when the name is cut.
 */
export function safeFileName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+|[.-]+$/g, '');
  if (!cleaned) return 'attachment';
  if (cleaned.length <= 100) return cleaned;
  const ext = /\.[A-Za-z0-9]{1,10}$/.exec(cleaned)?.[0] ?? '';
  return `${cleaned.slice(0, 100 - ext.length)}${ext}`;
}

/** `2026-08-01T12-00-00-123Z`: sortable, and no characters some file systems refuse. */
function stamp(at: number): string {
  return new Date(at).toISOString().replace(/[:.]/g, '-');
}

/** The path to show: relative to the working directory when inside it, else absolute. */
function shown(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/**
 * Writes each attachment to `dir` as `<timestamp>-<safe name>` (never over an existing file: `-2`, `-3`… before
 * the extension) and returns one line per attachment for the reply: `[attachment: <path> (<size> bytes)]`, or
 * what went wrong when it could not be written. Never throws.
 */
export async function saveAttachments(
  dir: string,
  attachments: readonly Attachment[],
  options: { now?: number; cwd?: string } = {},
): Promise<string[]> {
  const cwd = options.cwd ?? process.cwd();
  const root = resolve(cwd, dir);
  const lines: string[] = [];
  for (const a of attachments) {
    const data = typeof a.data === 'string' ? Buffer.from(a.data) : a.data;
    const about = a.description ? ` ${a.description}` : '';
    try {
      await mkdir(root, { recursive: true });
      const file = await writeNew(root, `${stamp(options.now ?? Date.now())}-${safeFileName(a.name)}`, data);
      lines.push(`[attachment: ${shown(file, cwd)} (${data.byteLength} bytes)]${about}`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      lines.push(`[attachment ${safeFileName(a.name)} (${data.byteLength} bytes) could not be saved in ${shown(root, cwd)}: ${reason}]`);
    }
  }
  return lines;
}

async function writeNew(root: string, name: string, data: Uint8Array): Promise<string> {
  const dot = name.lastIndexOf('.');
  const [base, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 1; ; n++) {
    const file = join(root, n === 1 ? name : `${base}-${n}${ext}`);
    // Belt and braces: the name was made safe, but nothing is written outside the directory whatever happens.
    if (!file.startsWith(root + sep)) throw new Error('refusing a name outside the attachments directory');
    try {
      await writeFile(file, data, { flag: 'wx' });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw error;
    }
  }
}
