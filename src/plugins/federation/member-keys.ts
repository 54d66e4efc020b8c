/**
 * This member's own federation keys: an Ed25519 pair that signs its bundles and results, and an
 * X25519 pair for secure aggregation's key agreement. The private keys live in
 * `$MIRADOR_HOME/keys/federation/` (0700) as `signing.pem` and `agreement.pem` (PKCS#8, 0600),
 * created on first use, race-free across processes (created in full, then linked into place:
 * lib/crypto.ts `createExclusive`), so two commands started at once end with the same keys. A key
 * file that others can read, or a folder they can write, is refused with the chmod that fixes it.
 * The public halves go into the group file (keys.ts writes them as base64 of the raw 32 bytes).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../engine/errors.js'
import { createExclusive, ensurePrivateDir } from '../../lib/crypto.js'
import { rawPublicKey } from './keys.js'

export interface KeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
  /** base64 of the raw public key, as the group file lists it */
  public: string
}

export interface MemberKeys {
  signing: KeyPair
  agreement: KeyPair
}

export function memberKeysDir(home: string): string {
  return path.join(home, 'keys', 'federation')
}

const isWindows = process.platform === 'win32'
const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0')

async function checkPrivate(file: string, mask: number, fix: string): Promise<void> {
  if (isWindows) return
  const st = await stat(file)
  if ((st.mode & mask) !== 0)
    throw new MiradorError(
      'FEDERATION_KEYS',
      `${file} is open to other users (mode ${octal(st.mode)}), so your federation key could be read or replaced; ` +
        `Mirador will not use it. Run: chmod ${fix} '${file}'`,
      { details: { file, mode: st.mode & 0o777 } },
    )
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false
      throw err
    },
  )

async function loadOrCreate(file: string, type: 'ed25519' | 'x25519'): Promise<KeyPair> {
  try {
    if (!(await exists(file))) {
      const pair = type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('x25519')
      const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' })
      await createExclusive(file, Buffer.from(pem), 0o600) // false when another process won: use theirs
    }
    await checkPrivate(file, 0o077, '600')
    const privateKey = createPrivateKey(await readFile(file, 'utf8'))
    if (privateKey.asymmetricKeyType !== type) throw new Error(`it holds a ${privateKey.asymmetricKeyType} key`)
    const publicKey = createPublicKey(privateKey)
    return { privateKey, publicKey, public: rawPublicKey(publicKey) }
  } catch (err) {
    if (MiradorError.is(err)) throw err
    throw new MiradorError(
      'FEDERATION_KEYS',
      `cannot use ${file} as your federation ${type} key (${(err as Error).message}). ` +
        'Restore it from a backup; or delete it and join your groups again with the new key.',
      { cause: err, details: { file } },
    )
  }
}

/** This member's keys, created on first use (see the file's comment). */
export async function loadOrCreateMemberKeys(home: string): Promise<MemberKeys> {
  const dir = memberKeysDir(home)
  await ensurePrivateDir(dir)
  await checkPrivate(dir, 0o022, '700')
  return {
    signing: await loadOrCreate(path.join(dir, 'signing.pem'), 'ed25519'),
    agreement: await loadOrCreate(path.join(dir, 'agreement.pem'), 'x25519'),
  }
}
