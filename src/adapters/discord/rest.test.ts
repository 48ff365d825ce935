import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST, RESTEvents, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sendDefer } from './defer.ts';
import { interactionRest } from './register.ts';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  type: string | undefined;
  body: string;
  socket: number;
}

/** A local API: records each request (and which connection it came on); `answer` decides the response. */
let server: Server;
let api = '';
const seen: Seen[] = [];
let answer: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_req, res) => res.writeHead(204).end();
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = (req.socket as { n?: number }).n ?? -1;
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        auth: req.headers.authorization,
        type: req.headers['content-type'],
        body: Buffer.concat(chunks).toString(),
        socket,
      });
      answer(req, res, seen.length);
    });
  });
  server.on('connection', (s) => {
    (s as { n?: number }).n = ++connections;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const reset = (a: typeof answer = (_req, res) => res.writeHead(204).end()) => {
  seen.length = 0;
  answer = a;
};

describe('interactionRest', () => {
  it('sends without the bot token and is not held at 50 requests a second (interaction endpoints are exempt)', async () => {
    reset((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id":"1"}');
    });
    const hooks = interactionRest({ discord: { apiRoot: api } } as Parameters<typeof interactionRest>[0]);
    const limited = vi.fn();
    hooks.on(RESTEvents.RateLimited, limited);
    // 60 edits of 60 interactions at once: with the global limiter the last 10 would wait for the next second.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        hooks.patch(Routes.webhookMessage('100000000000000042', `itoken-${i}`, '@original'), { body: { content: `${i}` }, auth: false }),
      ),
    );
    expect(limited).not.toHaveBeenCalled();
    expect(seen).toHaveLength(60);
    expect(seen.every((s) => s.auth === undefined)).toBe(true);
  });
});

describe('sendDefer', () => {
  /** A defer as discord.js sends it: its client's REST, 3 retries on a 5xx or a timeout. */
  const defer = () => new REST({ api, timeout: 1_000 }).post(Routes.interactionCallback('1', 'itoken'), { body: { type: 5 }, auth: false });
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  it('a defer answered 204 was taken', async () => {
    reset();
    expect(await sendDefer(defer)).toEqual({ kind: 'taken' });
  });

  it('a defer answered 502 whose retry is told 40060 (already acknowledged) was taken', async () => {
    reset((_req, res, n) => {
      if (n === 1) res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502 Bad Gateway</html>');
      else json(res, 400, { message: 'Interaction has already been acknowledged.', code: 40060 });
    });
    expect(await sendDefer(defer)).toEqual({ kind: 'taken' });
    expect(seen).toHaveLength(2);
  });

  it('a defer left unanswered past the timeout whose retry is told 40060 was taken', async () => {
    reset((_req, res, n) => {
      if (n === 1) return; // the answer never comes: the client gives up after its timeout and retries
      json(res, 400, { message: 'Interaction has already been acknowledged.', code: 40060 });
    });
    expect(await sendDefer(defer)).toEqual({ kind: 'taken' });
  });

  it('a defer told 10062 Unknown interaction (its 3 s are over) was refused', async () => {
    reset((_req, res) => json(res, 404, { message: 'Unknown interaction', code: 10062 }));
    expect(await sendDefer(defer)).toMatchObject({ kind: 'refused' });
  });

  it('a defer answered 503 on every try may have been taken or not', async () => {
    reset((_req, res) => res.writeHead(503).end());
    expect(await sendDefer(defer)).toMatchObject({ kind: 'unknown' });
    expect(seen).toHaveLength(4);
  });
});
