import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { HostConfig } from '../../config/schema.ts';

/**
 * A host's private key, read and parsed as ssh2 will use it (decrypted with the host's passphrase), or why it cannot
 * be: an unreadable file, an encrypted key without a passphrase or with a wrong one, something that is no private key.
 * The problem never quotes the key or the passphrase. `showPath` names the key file by its path (the agent's start-up,
 * for whoever runs it); otherwise by its config key, as in a chat reply.
 */
export async function loadPrivateKey(
  host: string,
  config: Pick<HostConfig, 'privateKey' | 'privateKeyPath' | 'passphrase'>,
  options: { showPath?: boolean } = {},
): Promise<{ key: string; problem?: undefined } | { key?: undefined; problem: string }> {
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
    if (ssh2.utils.parseKey(key, config.passphrase) instanceof Error)
      return { problem: `cannot decrypt ${where} with hosts.${host}.passphrase (a wrong passphrase?)` };
    return { key };
  }
  const parsed = Array.isArray(plain) ? plain[0] : plain;
  if (!parsed || parsed.getPrivatePEM() === null) return { problem: `${where} holds a public key, not the private key` };
  return { key };
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
