/**
 * Encryption at rest for memory: AES-256-GCM with a fresh random 12-byte IV per message.
 *
 * Sealed format (text, safe in JSON and Chroma documents):
 *
 *   v1:<base64( keyId[4] | iv[12] | tag[16] | ciphertext )>
 *
 * `keyId` is the first 4 bytes of HMAC-SHA256(key, "mirador key id"): it reveals nothing about the
 * key, and lets `open` tell "sealed with another key" (wrong passphrase, key file replaced) apart
 * from "altered" (authentication failed with the right key). The version and key id are also the
 * GCM additional data, so neither can be swapped without detection.
 *
 * Where the key comes from, decided by `loadCipher`:
 *   - `MIRADOR_MEMORY_PASSPHRASE` set: scrypt(passphrase, salt) with the salt and the cost
 *     parameters recorded in `$MIRADOR_HOME/keys/memory.salt` (created on first use), together with
 *     a sealed check value, so a wrong passphrase is refused at load time rather than at first read.
 *   - otherwise: 32 random bytes in `$MIRADOR_HOME/keys/memory.key`, created on first use with mode
 *     0600 in a 0700 folder. A key file readable or writable by group/others, or a keys folder
 *     writable by them, is refused with the chmod that fixes it.
 *
 * `$MIRADOR_HOME` itself is created 0700; one that group or others can open is reported (the
 * cipher's `warnings`), not refused: the folders and files in it are private on their own. A key or
 * salt path that is a dangling symbolic link (a key kept on a drive that is not mounted) is
 * MEMORY_CRYPTO naming the link and its target, never a new key created behind the user's back.
 *
 * `replaceKey` (after `memory forget --all`) overwrites the key file and the salt file and makes a
 * new key: whatever was sealed before cannot be opened again, even from a copy.
 *
 * Both files are created race-free across processes: the content is written in full to a private
 * temp file opened with O_EXCL, then hard-linked to the final name. link(2) fails with EEXIST when
 * another process won, exactly like O_EXCL, but no process can ever read a half-written key. (On a
 * file system without hard links it falls back to O_EXCL on the final name plus a short wait for
 * the full length.) The loser reads and uses the winner's file.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  scrypt as scryptCb,
  timingSafeEqual,
} from 'node:crypto'
import { constants as FS } from 'node:fs'
import { link, lstat, mkdir, open, readFile, readlink, realpath, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from './atomic-write.js'
import { MiradorError } from '../engine/errors.js'
import { readTextIfExists } from './read-if-exists.js'

/** Seals text at rest (AES-256-GCM); `open` throws MEMORY_CRYPTO on a wrong key or tampering. */
export interface Cipher {
  seal(plaintext: string): string
  open(sealed: string): string
}

export const PASSPHRASE_ENV = 'MIRADOR_MEMORY_PASSPHRASE'
const VERSION = 'v1'
const KEY_LEN = 32
const KID_LEN = 4
const IV_LEN = 12
const TAG_LEN = 16
const HEADER = KID_LEN + IV_LEN + TAG_LEN
const CHECK_TEXT = 'mirador memory passphrase check'

/**
 * scrypt cost for new salt files: N=2^15, r=8, p=1 (32 MiB). Measured on the development machine:
 * 75–90 ms per derivation (2^16 takes 140–150 ms, 2^17 about 280 ms). Existing salt files keep the
 * parameters they record.
 */
export const SCRYPT_DEFAULTS = { N: 2 ** 15, r: 8, p: 1 } as const
/** refuses salt files asking for more (a damaged or hostile file must not stall or exhaust memory) */
const SCRYPT_MAX_N = 2 ** 20

export type KeySource = 'keyfile' | 'passphrase'

export interface LoadCipherOptions {
  /** $MIRADOR_HOME */
  home: string
  /** environment to read MIRADOR_MEMORY_PASSPHRASE from (defaults to process.env) */
  env?: NodeJS.ProcessEnv
  /** scrypt parameters for a salt file created now (tests use a lower N) */
  scrypt?: { N: number; r: number; p: number }
}

export interface SaltFile {
  version: 1
  kdf: 'scrypt'
  N: number
  r: number
  p: number
  keyLength: number
  /** base64, 16 bytes */
  salt: string
  /** CHECK_TEXT sealed with the derived key */
  check: string
}

export function keyPaths(home: string): { dir: string; key: string; salt: string } {
  const dir = path.join(home, 'keys')
  return { dir, key: path.join(dir, 'memory.key'), salt: path.join(dir, 'memory.salt') }
}

/** A Cipher with a little more: where its key came from, and a keyed hash for file names. */
export class MemoryCipher implements Cipher {
  readonly keyId: string
  private readonly kid: Buffer
  private readonly aad: Buffer
  private readonly nameKey: Buffer
  /** what the user should hear about where the key lives (a $MIRADOR_HOME open to others) */
  readonly warnings: string[] = []

  constructor(
    private readonly key: Buffer,
    readonly source: KeySource,
    /** the key file or salt file, named in error messages */
    readonly origin: string,
  ) {
    if (key.length !== KEY_LEN)
      throw new MiradorError('INTERNAL', `memory key must be ${KEY_LEN} bytes, got ${key.length}`)
    this.kid = createHmac('sha256', key).update('mirador key id').digest().subarray(0, KID_LEN)
    this.keyId = this.kid.toString('hex')
    this.aad = Buffer.concat([Buffer.from(VERSION), this.kid])
    this.nameKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'mirador file names', 32))
  }

  seal(plaintext: string): string {
    const iv = randomBytes(IV_LEN)
    const c = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_LEN })
    c.setAAD(this.aad)
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()])
    return `${VERSION}:${Buffer.concat([this.kid, iv, c.getAuthTag(), ct]).toString('base64')}`
  }

  open(sealed: string): string {
    const colon = sealed.indexOf(':')
    const version = colon > 0 && colon <= 8 ? sealed.slice(0, colon) : ''
    if (version !== VERSION) {
      if (/^v\d+$/.test(version)) {
        throw new MiradorError(
          'MEMORY_CRYPTO',
          `this data was sealed in format ${version}, which this Mirador cannot read; upgrade Mirador.`,
        )
      }
      throw new MiradorError(
        'MEMORY_CRYPTO',
        'this is not sealed Mirador data (no "v1:" prefix): it is damaged or was written by something else. ' +
          'Delete it, or restore it from a backup.',
      )
    }
    const body = sealed.slice(colon + 1).trim()
    const raw = Buffer.from(body, 'base64')
    // Buffer.from skips characters that are not base64, so a decoded length short of what the text's
    // length promises means it was not clean base64 (cheaper than a regex over a large document)
    const pad = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0
    if (raw.length < HEADER || body.length % 4 !== 0 || raw.length !== (body.length / 4) * 3 - pad) {
      throw new MiradorError(
        'MEMORY_CRYPTO',
        'sealed data is truncated or damaged and cannot be read. Delete it, or restore it from a backup.',
      )
    }
    const kid = raw.subarray(0, KID_LEN)
    if (!timingSafeEqual(kid, this.kid)) throw this.wrongKey(kid.toString('hex'))
    const iv = raw.subarray(KID_LEN, KID_LEN + IV_LEN)
    const tag = raw.subarray(KID_LEN + IV_LEN, HEADER)
    const d = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_LEN })
    d.setAAD(this.aad)
    d.setAuthTag(tag)
    try {
      return Buffer.concat([d.update(raw.subarray(HEADER)), d.final()]).toString('utf8')
    } catch (err) {
      throw new MiradorError(
        'MEMORY_CRYPTO',
        'sealed data failed its integrity check: it was altered or damaged after it was written (the key is right). ' +
          'It cannot be read; delete it, or restore it from a backup.',
        { cause: err },
      )
    }
  }

  /** HMAC-SHA256 under a subkey of the memory key (hex): file names that reveal nothing without the key */
  keyedHash(text: string): string {
    return createHmac('sha256', this.nameKey).update(text, 'utf8').digest('hex')
  }

  private wrongKey(found: string): MiradorError {
    const fix =
      this.source === 'passphrase'
        ? `${PASSPHRASE_ENV} is not the passphrase it was written with, or it was written with the key file ` +
          `before a passphrase was set (then unset ${PASSPHRASE_ENV}).`
        : `the key file ${this.origin} is not the key it was written with (was it replaced?), ` +
          `or it was written with a passphrase (then set ${PASSPHRASE_ENV}).`
    return new MiradorError(
      'MEMORY_CRYPTO',
      `sealed data was written with another key (key id ${found}, current ${this.keyId}): ${fix} ` +
        'Restore the right key, or delete the data (mirador session rm, mirador memory forget --all) to start afresh.',
      { details: { keyId: this.keyId, sealedWith: found, source: this.source } },
    )
  }
}

/** Loads (creating on first use) the memory key, per the environment: see the module comment. */
export async function loadCipher(opts: LoadCipherOptions): Promise<MemoryCipher> {
  const env = opts.env ?? process.env
  const paths = keyPaths(opts.home)
  const passphrase = env[PASSPHRASE_ENV]
  const homeWarning = await ensurePrivateHome(opts.home)
  try {
    await ensurePrivateDir(paths.dir)
  } catch (err) {
    throw keyPathError(paths.dir, err)
  }
  const cipher = await cipherFrom(passphrase, paths, opts)
  if (homeWarning) cipher.warnings.push(homeWarning)
  return cipher
}

async function cipherFrom(
  passphrase: string | undefined,
  paths: { key: string; salt: string },
  opts: LoadCipherOptions,
): Promise<MemoryCipher> {
  if (passphrase !== undefined) {
    if (passphrase.length === 0) {
      throw new MiradorError(
        'MEMORY_CRYPTO',
        `${PASSPHRASE_ENV} is set but empty. Set it to your passphrase, or unset it to use the key file ${paths.key}.`,
      )
    }
    return passphraseCipher(passphrase, paths.salt, opts.scrypt ?? SCRYPT_DEFAULTS)
  }
  return new MemoryCipher(await keyFromFile(paths.key), 'keyfile', paths.key)
}

/**
 * Replaces the memory key (after everything sealed with it was forgotten): the key file's bytes are
 * overwritten and a new key takes its place (where a symbolic link points, when the key is kept
 * elsewhere); the salt file is overwritten and removed, so a passphrase gets a new salt.
 */
export async function replaceKey(opts: LoadCipherOptions): Promise<MemoryCipher> {
  const paths = keyPaths(opts.home)
  const key = await realpath(paths.key).catch(() => undefined)
  if (key) {
    await overwrite(key)
    await writeFileAtomic(key, randomBytes(KEY_LEN), 0o600)
  }
  const salt = await realpath(paths.salt).catch(() => undefined)
  if (salt) {
    await overwrite(salt)
    await rm(salt, { force: true })
    await rm(paths.salt, { force: true })
  }
  return loadCipher(opts)
}

/** Overwrites a file's bytes in place with random ones (before it is replaced or removed). */
async function overwrite(file: string): Promise<void> {
  const fh = await open(file, 'r+').catch(() => undefined)
  if (!fh) return
  try {
    const { size } = await fh.stat()
    if (size > 0) await fh.write(randomBytes(size), 0, size, 0)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/**
 * Creates `$MIRADOR_HOME` with mode 0700 if it is missing; returns what to tell the user when it
 * exists and group or others may open it.
 */
export async function ensurePrivateHome(home: string): Promise<string | undefined> {
  try {
    await mkdir(home, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw keyPathError(home, err)
  }
  if (isWindows) return undefined
  const st = await stat(home)
  if ((st.mode & 0o077) === 0) return undefined
  return (
    `$MIRADOR_HOME (${home}) can be opened by other users (mode ${octalMode(st.mode)}): they can see which ` +
    `files it holds, and read those not private on their own. Run: chmod 700 '${home}'`
  )
}

/** Seals `plaintext` into `file` atomically, mode 0600, creating its folder (0700) if needed. */
export async function sealFile(cipher: Cipher, file: string, plaintext: string): Promise<void> {
  await ensurePrivateDir(path.dirname(file))
  await writeFileAtomic(file, cipher.seal(plaintext) + '\n', 0o600)
}

/**
 * Opens a file written by `sealFile`; `undefined` when it does not exist. A file that cannot be
 * opened throws MEMORY_CRYPTO naming the file.
 */
export async function openFile(cipher: Cipher, file: string): Promise<string | undefined> {
  const text = await readTextIfExists(file)
  if (text === undefined) return undefined
  try {
    return cipher.open(text.trim())
  } catch (err) {
    if (MiradorError.is(err, 'MEMORY_CRYPTO')) {
      throw new MiradorError('MEMORY_CRYPTO', `${file}: ${err.message}`, {
        cause: err,
        ...(err.details ? { details: { ...err.details, file } } : { details: { file } }),
      })
    }
    throw err
  }
}

/** Creates `dir` (and parents) with mode 0700 if missing. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
}

/**
 * Creates `file` with exactly `data` unless it exists; true when this call created it. Race-free
 * across processes (see the module comment).
 */
export async function createExclusive(file: string, data: Uint8Array, mode = 0o600): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.new`
  const fh = await open(tmp, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, mode)
  try {
    await fh.chmod(mode) // in case the umask took bits we asked for (it never adds any)
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await link(tmp, file)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV')
      return createExclusiveDirect(file, data, mode)
    throw err
  } finally {
    await rm(tmp, { force: true })
  }
}

async function createExclusiveDirect(file: string, data: Uint8Array, mode: number): Promise<boolean> {
  let fh
  try {
    fh = await open(file, FS.O_WRONLY | FS.O_CREAT | FS.O_EXCL, mode)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return true
}

/** reads a file another process may be creating right now (only on the O_EXCL fallback path) */
async function readComplete(file: string, minLength: number): Promise<Buffer> {
  for (let i = 0; ; i++) {
    const b = await readFile(file)
    if (b.length >= minLength || i >= 50) return b
    // short: still being written (fresh), or damaged (old), which the caller reports
    const age = Date.now() - (await stat(file)).mtimeMs
    if (age > 2000) return b
    await new Promise((r) => setTimeout(r, 20))
  }
}

const isWindows = process.platform === 'win32'

/**
 * A key or salt file that cannot be used as is: a dangling symbolic link (its target is missing)
 * or an error of the file system, as MEMORY_CRYPTO that says what to do.
 */
async function refuseDangling(file: string): Promise<void> {
  const st = await lstat(file).catch(() => undefined)
  if (!st?.isSymbolicLink()) return
  const target = await readlink(file).catch(() => '?')
  throw new MiradorError(
    'MEMORY_CRYPTO',
    `${file} is a symbolic link to ${target}, which does not exist (a drive not mounted? a file moved?). ` +
      'Make the target available again: memory sealed with that key needs it. ' +
      'Or remove the link to start afresh with a new key (memory sealed with the old one becomes unreadable).',
    { details: { file, target } },
  )
}

function keyPathError(file: string, err: unknown): MiradorError {
  if (err instanceof MiradorError) return err
  const e = err as NodeJS.ErrnoException
  return new MiradorError(
    'MEMORY_CRYPTO',
    `cannot use ${file} for the memory key (${e.code ?? e.message}). ` +
      `Check that it is a folder or file of yours that you can read and write (ls -la '${path.dirname(file)}').`,
    { cause: err, details: { file } },
  )
}

async function keyFromFile(file: string): Promise<Buffer> {
  await checkDirPermissions(path.dirname(file))
  let fh
  try {
    fh = await open(file, FS.O_RDONLY)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw keyPathError(file, err)
    await refuseDangling(file)
    try {
      await createExclusive(file, randomBytes(KEY_LEN), 0o600)
      fh = await open(file, FS.O_RDONLY)
    } catch (err2) {
      await refuseDangling(file)
      throw keyPathError(file, err2)
    }
  }
  try {
    const st = await fh.stat()
    if (!st.isFile())
      throw new MiradorError(
        'MEMORY_CRYPTO',
        `${file} is not a regular file. ` +
          'Remove it; a new key is created on the next run (memory sealed with the old key becomes unreadable).',
      )
    if (!isWindows) {
      if ((st.mode & 0o077) !== 0) {
        throw new MiradorError(
          'MEMORY_CRYPTO',
          `the memory key ${file} is accessible to other users (mode ${octalMode(st.mode)}); ` +
            `Mirador will not use it. Run: chmod 600 '${file}'`,
          { details: { file, mode: st.mode & 0o777 } },
        )
      }
      if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
        throw new MiradorError(
          'MEMORY_CRYPTO',
          `the memory key ${file} belongs to another user (uid ${st.uid}); ` +
            `Mirador will not use it. Run: chown ${process.getuid()} '${file}'`,
        )
      }
    }
  } finally {
    await fh.close()
  }
  const key = await readComplete(file, KEY_LEN)
  if (key.length !== KEY_LEN) {
    throw new MiradorError(
      'MEMORY_CRYPTO',
      `the memory key ${file} is damaged (${key.length} bytes, expected ${KEY_LEN}). ` +
        'Restore it from a backup; or delete it to start afresh (memory sealed with it becomes unreadable).',
    )
  }
  return key
}

async function checkDirPermissions(dir: string): Promise<void> {
  if (isWindows) return
  const st = await stat(dir)
  if ((st.mode & 0o022) !== 0) {
    throw new MiradorError(
      'MEMORY_CRYPTO',
      `the keys folder ${dir} is writable by other users (mode ${octalMode(st.mode)}), ` +
        `so the memory key could be replaced. Run: chmod 700 '${dir}'`,
      { details: { file: dir, mode: st.mode & 0o777 } },
    )
  }
}

/** A file's permission bits as chmod writes them: 0644 */
function octalMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0')
}

function scryptAsync(passphrase: string, salt: Buffer, p: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(
      passphrase.normalize('NFC'),
      salt,
      KEY_LEN,
      { N: p.N, r: p.r, p: p.p, maxmem: 128 * p.N * p.r * 2 + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  )
}

async function passphraseCipher(
  passphrase: string,
  file: string,
  params: { N: number; r: number; p: number },
): Promise<MemoryCipher> {
  await checkDirPermissions(path.dirname(file))
  let raw = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw keyPathError(file, err)
  })
  if (raw === undefined) {
    await refuseDangling(file)
    const salt = randomBytes(16)
    const key = await scryptAsync(passphrase, salt, params)
    const record: SaltFile = {
      version: 1,
      kdf: 'scrypt',
      ...params,
      keyLength: KEY_LEN,
      salt: salt.toString('base64'),
      check: new MemoryCipher(key, 'passphrase', file).seal(CHECK_TEXT),
    }
    if (await createExclusive(file, Buffer.from(JSON.stringify(record, null, 2) + '\n'), 0o600))
      return new MemoryCipher(key, 'passphrase', file)
    raw = (await readComplete(file, 2)).toString('utf8') // another process created it first: use theirs
  }
  const rec = parseSaltFile(raw, file)
  const key = await scryptAsync(passphrase, Buffer.from(rec.salt, 'base64'), rec)
  const cipher = new MemoryCipher(key, 'passphrase', file)
  let ok: boolean
  try {
    ok = cipher.open(rec.check) === CHECK_TEXT
  } catch {
    ok = false
  }
  if (!ok) {
    const memoryRoot = path.dirname(path.dirname(file))
    throw new MiradorError(
      'MEMORY_CRYPTO',
      `${PASSPHRASE_ENV} is not the passphrase memory was set up with (${file}). Set the right passphrase; ` +
        `or, to start afresh, delete ${file} and the sealed memory and sessions under ${memoryRoot}.`,
      { details: { file } },
    )
  }
  return cipher
}

function parseSaltFile(raw: string, file: string): SaltFile {
  const bad = (why: string) =>
    new MiradorError(
      'MEMORY_CRYPTO',
      `${file} is damaged (${why}), so the passphrase key cannot be derived. ` +
        'Restore it from a backup; without it, memory sealed with the passphrase is unreadable.',
    )
  let v: unknown
  try {
    v = JSON.parse(raw)
  } catch {
    throw bad('not JSON')
  }
  const r = v as Partial<SaltFile>
  if (!r || typeof r !== 'object' || r.version !== 1 || r.kdf !== 'scrypt') throw bad('unknown version or kdf')
  const isPow2 = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 2 && (n & (n - 1)) === 0
  if (!isPow2(r.N) || r.N > SCRYPT_MAX_N) throw bad(`N must be a power of two up to 2^20`)
  if (typeof r.r !== 'number' || !Number.isInteger(r.r) || r.r < 1 || r.r > 32) throw bad('r out of range')
  if (typeof r.p !== 'number' || !Number.isInteger(r.p) || r.p < 1 || r.p > 16) throw bad('p out of range')
  if (r.keyLength !== KEY_LEN) throw bad('keyLength')
  if (typeof r.salt !== 'string' || Buffer.from(r.salt, 'base64').length < 16) throw bad('salt')
  if (typeof r.check !== 'string') throw bad('check value')
  return r as SaltFile
}
