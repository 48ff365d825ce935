import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { HostConfig } from '../../config/schema.ts';

/**
 * A host's private key, read and parsed (decrypted with the host's passphrase) as ssh2 uses it, or why it cannot be:
 * an unreadable file, an encrypted key without a passphrase or with a wrong one, something that is no private key.
 * The problem never quotes the key or the passphrase. `showPath` names the key file by its path (the agent's start-up,
 * for whoever runs it); otherwise by its config key, as in a chat reply.
 *
 * The parsed key is what a connection authenticates with (ssh2 takes a parsed key as it is): decrypting an OpenSSH
 * key is bcrypt_pbkdf on the event loop (a fifth of a second at 16 rounds), done once per connection, not again by
 * ssh2 from the text. It is not kept beyond the connection that uses it.
 */
export async function loadPrivateKey(
  host: string,
  config: Pick<HostConfig, 'privateKey' | 'privateKeyPath' | 'passphrase'>,
  options: { showPath?: boolean } = {},
): Promise<{ key: ssh2.ParsedKey; problem?: undefined } | { key?: undefined; problem: string }> {
  const inline = config.privateKey !== undefined;
  const path = config.privateKeyPath ?? '';
  const where = inline
    ? `the private key in hosts.${host}.privateKey`
    : options.showPath
      ? `the private key file ${path} of ${host}`
      : `the private key file of ${host} (hosts.${host}.privateKeyPath)`;
  let key: string;
  try {
    key = config.privateKey ?? (await readFile(path, 'utf8'));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    // Node's message is `CODE: what, syscall 'path'`: the code and what it means, without the path.
    const why = e.message?.startsWith(`${e.code}: `) ? e.message.replace(/, \w+ '.*$/s, '') : (e.code ?? 'error');
    return { problem: `cannot read ${where} (${why})` };
  }
  const plain = ssh2.utils.parseKey(key);
  if (plain instanceof Error) {
    if (!/no passphrase given/i.test(plain.message)) return { problem: `${where} is not a private key xenops can read (${plain.message})` };
    if (!config.passphrase) return { problem: `${where} is encrypted, and hosts.${host}.passphrase is not set` };
    const decrypted = ssh2.utils.parseKey(key, config.passphrase);
    if (decrypted instanceof Error) return { problem: `cannot decrypt ${where} with hosts.${host}.passphrase (a wrong passphrase?)` };
    return privateOf(decrypted, where);
  }
  return privateOf(plain, where);
}

/** The key ssh2 signs with (the first of a file holding several, as ssh2 takes it), if it is a private one. */
function privateOf(parsed: ssh2.ParsedKey | ssh2.ParsedKey[], where: string): { key: ssh2.ParsedKey } | { problem: string } {
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!first?.isPrivateKey()) return { problem: `${where} holds a public key, not the private key` };
  return { key: first };
}

/** Every served host's private key problem (see loadPrivateKey), as the agent's start-up reports them. */
export async function privateKeyProblems(hosts: Readonly<Record<string, HostConfig>>, served: readonly string[]): Promise<string[]> {
  const problems = await Promise.all(
    served.map(async (host) => {
      const config = hosts[host];
      return config ? (await loadPrivateKey(host, config, { showPath: true })).problem : undefined;
    }),
  );
  return problems.filter((p): p is string => p !== undefined);
}
