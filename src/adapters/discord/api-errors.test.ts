import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST, Routes } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBotTokenRefused, mayHaveTakenEffect } from './api-errors.ts';

/** What @discordjs/rest throws, for real, against a local server (and a port nobody listens on). */
let server: Server;
let api = '';
let answer: (res: import('node:http').ServerResponse) => void = (res) => res.writeHead(204).end();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const failure = (rest: REST, route: `/${string}` = Routes.channelMessages('1'), auth = true) =>
  rest.post(route, { body: { content: 'x' }, auth }).then(
    () => null,
    (e: unknown) => e,
  );
const json = (status: number, body: unknown) => (res: import('node:http').ServerResponse) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('mayHaveTakenEffect', () => {
  it('a 502 on every try, a cut connection: Discord may have done it', async () => {
    answer = (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>502</html>');
    expect(mayHaveTakenEffect(await failure(new REST({ api }).setToken('t')))).toBe(true);
    answer = (res) => res.socket?.destroy();
    expect(mayHaveTakenEffect(await failure(new REST({ api }).setToken('t')))).toBe(true);
  });

  it('a refusal, a connection refused, a request sent without a token: it did not', async () => {
    answer = json(400, { message: 'Invalid Form Body', code: 50035 });
    expect(mayHaveTakenEffect(await failure(new REST({ api }).setToken('t')))).toBe(false);
    expect(mayHaveTakenEffect(await failure(new REST({ api: 'http://127.0.0.1:1/api' }).setToken('t')))).toBe(false);
    expect(mayHaveTakenEffect(await failure(new REST({ api })))).toBe(false);
  });
});

describe('isBotTokenRefused', () => {
  it("a 401 on the bot token, not on an interaction's webhook (its token expired)", async () => {
    answer = json(401, { message: '401: Unauthorized', code: 0 });
    expect(isBotTokenRefused(await failure(new REST({ api }).setToken('t')))).toBe(true);
    answer = json(401, { message: 'Invalid Webhook Token', code: 50027 });
    expect(isBotTokenRefused(await failure(new REST({ api }), Routes.webhook('1', 'itoken'), false))).toBe(false);
  });
});
