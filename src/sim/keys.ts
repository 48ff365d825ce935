import { createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';

/**
 * Ed25519 key pairs in OpenSSH's formats, made with node:crypto and encoded here.
 *
 * Why not `ssh2.utils.generateKeyPairSync('ed25519')`: ssh2 (1.17) reads the raw public key out of the SPKI DER's
 * BIT STRING and then "removes leading zero bytes" — meant for the BIT STRING's unused-bits octet, but it strips
 * every leading 0x00, including the first bytes of the 32-byte public key itself. One key in 256 starts with a zero
 * byte, so about 0.4 % of its keys come out with a 31-byte (or shorter) public key, which ssh2's own parser then
 * rejects ("Malformed OpenSSH private key"), and no SSH implementation would accept. Two fresh host keys failed
 * once in ~70 starts of the demo. Encoding the key ourselves from its JWK form (always exactly 32 bytes of seed
 * and 32 of public key) is correct for every key, so there is nothing to retry.
 */

export interface OpenSshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` (openssh-key-v1, unencrypted). */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment` */
  publicKey: string;
}

/** An Ed25519 private key's PKCS#8 DER up to its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * A key from a random seed rather than from `generateKeyPairSync`: on Node 20, exporting a key while the GC collects
 * the key-generation job that made it deadlocks the process (the job's destructor takes the key's mutex, which the
 * export holds while it allocates; seen as a test worker hung in ~KeyGenJob under KeyObjectHandle::ExportJWK). A key
 * made from its seed has no such job.
 */
export function generateEd25519KeyPair(comment = ''): OpenSshKeyPair {
  return encodeEd25519KeyPair(ed25519FromSeed(randomBytes(32)), comment);
}

/** The Ed25519 private key of a 32-byte seed. */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Encodes a node:crypto Ed25519 private key in OpenSSH's private-key and public-key-line formats. */
export function encodeEd25519KeyPair(privateKey: KeyObject, comment = ''): OpenSshKeyPair {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error('not an Ed25519 private key');
  const seed = Buffer.from(jwk.d, 'base64url');
  const pub = Buffer.from(jwk.x, 'base64url');
  if (seed.length !== 32 || pub.length !== 32) throw new Error('unexpected Ed25519 key length');
  const keyType = Buffer.from('ssh-ed25519');
  const publicBlob = Buffer.concat([sshString(keyType), sshString(pub)]);
  const check = randomBytes(4);
  const secret = [check, check, sshString(keyType), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(Buffer.from(comment))];
  // The unencrypted ("none") private section is padded with 1, 2, 3… up to a multiple of 8 bytes.
  const length = secret.reduce((n, b) => n + b.length, 0);
  const padding = Buffer.from(Array.from({ length: (8 - (length % 8)) % 8 }, (_v, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString(Buffer.from('none')),
    sshString(Buffer.from('none')),
    sshString(Buffer.alloc(0)),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([...secret, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')}${comment ? ` ${comment}` : ''}`,
  };
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sshString(data: Buffer): Buffer {
  return Buffer.concat([uint32(data.length), data]);
}
