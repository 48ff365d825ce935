import type { IncomingMessage } from 'node:http';

/** Calls a fake server received, and a way to await one (past or future) without sleeping. */
export class CallRecorder<C> {
  readonly calls: C[] = [];
  private waiters: { match: (c: C) => boolean; resolve: (c: C) => void }[] = [];

  record(call: C): void {
    this.calls.push(call);
    for (const w of [...this.waiters]) {
      if (w.match(call)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(call);
      }
    }
  }

  waitFor(match: (c: C) => boolean): Promise<C> {
    const done = this.calls.find(match);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A multipart/form-data body as string fields and files (name + bytes), parsed by Node's own fetch Request. */
export async function parseMultipart(
  contentType: string,
  raw: Buffer,
): Promise<{ fields: Record<string, string>; files: ({ field: string } & UploadedFile)[] }> {
  const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  const fields: Record<string, string> = {};
  const files: ({ field: string } & UploadedFile)[] = [];
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') fields[key] = value;
    else
      files.push({ field: key, ...uploaded((value as File).name, (value as File).type, Buffer.from(await (value as File).arrayBuffer())) });
  }
  return { fields, files };
}

/** A file a fake received in a multipart upload, as a test wants to check it. */
export interface UploadedFile {
  name: string;
  /** The part's Content-Type ('' when the client sent none). */
  contentType: string;
  size: number;
  /** The first 16 bytes, hex (a PNG starts 89504e470d0a1a0a). */
  head: string;
  data: Buffer;
}

export function uploaded(name: string, contentType: string, data: Buffer): UploadedFile {
  return { name, contentType, size: data.length, head: data.subarray(0, 16).toString('hex'), data };
}

/** The PNG signature as `UploadedFile.head` starts. */
export const PNG_HEAD = '89504e470d0a1a0a';
