import { afterAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { MiradorError } from '../../src/engine/errors.js'
import {
  keyPaths,
  loadCipher,
  MemoryCipher,
  openFile,
  replaceKey,
  sealFile,
  SCRYPT_DEFAULTS,
} from '../../src/lib/crypto.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const scratch = mkdtempSync(path.join(tmpdir(), 'mirador-crypto-'))
let n = 0
const home = () => path.join(scratch, `h${n++}`)
/** fast scrypt for tests that are not about its cost */
const FAST = { N: 2 ** 10, r: 8, p: 1 }
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

async function cryptoError(p: Promise<unknown> | (() => unknown)): Promise<MiradorError> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    expect(MiradorError.is(err, 'MEMORY_CRYPTO')).toBe(true)
    return err as MiradorError
  }
  throw new Error('expected MEMORY_CRYPTO, but it succeeded')
}

describe('cipher', () => {
  it('round-trips text of any size and script, in the versioned format, with a fresh IV each time', async () => {
    const c = await loadCipher({ home: home(), env: {} })
    for (const text of [
      '',
      'a',
      'Q: what is the capital of Peru?\nA: Lima',
      'ünïcödé ✓ 日本語 🙂',
      'x'.repeat(1_000_000),
    ]) {
      const sealed = c.seal(text)
      expect(sealed).toMatch(/^v1:[A-Za-z0-9+/]+=*$/)
      expect(c.open(sealed)).toBe(text)
    }
    const a = c.seal('same text')
    const b = c.seal('same text')
    expect(a).not.toBe(b)
    // iv is bytes 4..16 of the payload
    expect(Buffer.from(a.slice(3), 'base64').subarray(4, 16)).not.toEqual(
      Buffer.from(b.slice(3), 'base64').subarray(4, 16),
    )
  })

  it('detects any single-byte change, truncation, a foreign version and garbage; never returns garbage', async () => {
    const c = await loadCipher({ home: home(), env: {} })
    const sealed = c.seal('the secret plan')
    const raw = Buffer.from(sealed.slice(3), 'base64')
    for (let i = 0; i < raw.length; i++) {
      const t = Buffer.from(raw)
      t[i] = t[i]! ^ 0x01
      await cryptoError(() => c.open('v1:' + t.toString('base64')))
    }
    const tampered = await cryptoError(() => {
      const t = Buffer.from(raw)
      t[raw.length - 1] = t[raw.length - 1]! ^ 0x80
      return c.open('v1:' + t.toString('base64'))
    })
    expect(tampered.message).toMatch(/altered or damaged/)
    await cryptoError(() => c.open('v1:' + raw.subarray(0, 20).toString('base64')))
    await cryptoError(() => c.open('v1:' + raw.subarray(0, raw.length - 1).toString('base64')))
    expect((await cryptoError(() => c.open('v2:' + raw.toString('base64')))).message).toMatch(/upgrade Mirador/)
    await cryptoError(() => c.open('the secret plan'))
    await cryptoError(() => c.open(''))
    await cryptoError(() => c.open('v1:!!!not base64!!!'))
  })

  it('speed: seals and opens a 1 MB document well under a second', async () => {
    const c = await loadCipher({ home: home(), env: {} })
    const text = 'memory '.repeat(150_000)
    const t0 = performance.now()
    expect(c.open(c.seal(text))).toBe(text)
    expect(performance.now() - t0).toBeLessThan(1000)
  })
})

describe('key file', () => {
  it('is created on first use: 32 bytes, mode 0600, in a 0700 folder; later loads use the same key', async () => {
    const h = home()
    const c1 = await loadCipher({ home: h, env: {} })
    const { dir, key } = keyPaths(h)
    expect(statSync(key).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(readFileSync(key)).toHaveLength(32)
    expect(c1.source).toBe('keyfile')
    const c2 = await loadCipher({ home: h, env: {} })
    expect(c2.keyId).toBe(c1.keyId)
    expect(c2.open(c1.seal('kept across runs'))).toBe('kept across runs')
  })

  it('is refused when group or others can read it, with the chmod that fixes it', async () => {
    const h = home()
    await loadCipher({ home: h, env: {} })
    const { key, dir } = keyPaths(h)
    chmodSync(key, 0o644)
    const e = await cryptoError(loadCipher({ home: h, env: {} }))
    expect(e.message).toContain(`chmod 600 '${key}'`)
    expect(e.message).toContain('0644')
    chmodSync(key, 0o640)
    await cryptoError(loadCipher({ home: h, env: {} }))
    chmodSync(key, 0o600)
    await expect(loadCipher({ home: h, env: {} })).resolves.toBeInstanceOf(MemoryCipher)
    chmodSync(dir, 0o777)
    expect((await cryptoError(loadCipher({ home: h, env: {} }))).message).toContain(`chmod 700 '${dir}'`)
    chmodSync(dir, 0o700)
  })

  it('is refused when damaged', async () => {
    const h = home()
    await loadCipher({ home: h, env: {} })
    writeFileSync(keyPaths(h).key, Buffer.alloc(20), { mode: 0o600 })
    const old = new Date(Date.now() - 60_000)
    utimesSync(keyPaths(h).key, old, old) // a fresh short file may still be being written: it is waited for
    expect((await cryptoError(loadCipher({ home: h, env: {} }))).message).toMatch(/damaged \(20 bytes, expected 32\)/)
  })

  it('a replaced key is told apart from tampering', async () => {
    const h1 = home()
    const h2 = home()
    const c1 = await loadCipher({ home: h1, env: {} })
    const c2 = await loadCipher({ home: h2, env: {} })
    const e = await cryptoError(() => c2.open(c1.seal('x')))
    expect(e.message).toMatch(/written with another key/)
    expect(e.message).toContain(keyPaths(h2).key)
  })

  it('is created exactly once when several processes start at the same time', async () => {
    const h = home()
    const script = path.join(scratch, 'load-key.ts')
    writeFileSync(
      script,
      `import { existsSync, writeFileSync } from 'node:fs'\n` +
        `import { loadCipher } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/lib/crypto.ts')).href)}\n` +
        `const [home, barrier, tag] = process.argv.slice(2)\n` +
        `writeFileSync(barrier + '/ready-' + tag, '')\n` +
        `while (!existsSync(barrier + '/go')) await new Promise((r) => setTimeout(r, 1))\n` +
        `const c = await loadCipher({ home, env: {} })\nconsole.log(c.keyId + ' ' + c.seal('from ' + process.pid))\n`,
    )
    const barrier = mkdtempSync(path.join(scratch, 'barrier-'))
    const tags = ['1', '2', '3', '4', '5', '6']
    const all = Promise.all(
      tags.map((t) =>
        promisify(execFile)(process.execPath, ['--import', './test/support/ts-loader.mjs', script, h, barrier, t], {
          cwd: ROOT,
        }),
      ),
    )
    all.catch(() => {}) // awaited below
    const deadline = Date.now() + 30_000
    while (!tags.every((t) => existsSync(path.join(barrier, `ready-${t}`))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5))
    writeFileSync(path.join(barrier, 'go'), '')
    const outs = await all
    const lines = outs.map((o) => o.stdout.trim().split(' '))
    expect(new Set(lines.map((l) => l[0])).size).toBe(1)
    const c = await loadCipher({ home: h, env: {} })
    expect(c.keyId).toBe(lines[0]![0])
    for (const l of lines) expect(c.open(l[1]!)).toMatch(/^from \d+$/)
    expect(readFileSync(keyPaths(h).key)).toHaveLength(32)
  }, 60_000)
})

describe('$MIRADOR_HOME and where the key lives', () => {
  it('$MIRADOR_HOME is created 0700; one others can open is reported with the fix, not refused', async () => {
    const h = path.join(home(), 'nested', 'home')
    const c = await loadCipher({ home: h, env: {} })
    expect(statSync(h).mode & 0o777).toBe(0o700)
    expect(c.warnings).toEqual([])
    chmodSync(h, 0o755)
    const loose = await loadCipher({ home: h, env: {} })
    expect(loose.keyId).toBe(c.keyId)
    expect(loose.warnings).toEqual([expect.stringContaining(`mode 0755`)])
    expect(loose.warnings[0]).toContain(`chmod 700 '${h}'`)
  })

  it('a key path that is a dangling symlink: MEMORY_CRYPTO naming link and target; no key is made', async () => {
    const h = home()
    const { dir, key } = keyPaths(h)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const target = path.join(scratch, 'unmounted-drive', 'memory.key')
    symlinkSync(target, key)
    const e = await cryptoError(loadCipher({ home: h, env: {} }))
    expect(e.message).toContain(`${key} is a symbolic link to ${target}, which does not exist`)
    expect(e.message).toMatch(/remove the link to start afresh/)
    expect(e.message).not.toMatch(/ENOENT/)
    expect(existsSync(target)).toBe(false)
    // the salt file of a passphrase alike
    const h2 = home()
    const paths2 = keyPaths(h2)
    mkdirSync(paths2.dir, { recursive: true, mode: 0o700 })
    symlinkSync(path.join(scratch, 'gone', 'memory.salt'), paths2.salt)
    const e2 = await cryptoError(loadCipher({ home: h2, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' }, scrypt: FAST }))
    expect(e2.message).toContain(`${paths2.salt} is a symbolic link`)
    // a symlink to a key that is there works as before
    const h3 = home()
    const real = await loadCipher({ home: path.join(scratch, 'elsewhere'), env: {} })
    const p3 = keyPaths(h3)
    mkdirSync(p3.dir, { recursive: true, mode: 0o700 })
    symlinkSync(keyPaths(path.join(scratch, 'elsewhere')).key, p3.key)
    expect((await loadCipher({ home: h3, env: {} })).keyId).toBe(real.keyId)
  })

  it('replaceKey: a new key (0600) that old sealed data fails; a linked key is replaced at its target', async () => {
    const h = home()
    const old = await loadCipher({ home: h, env: {} })
    const sealed = old.seal('forgotten')
    const oldBytes = readFileSync(keyPaths(h).key)
    const fresh = await replaceKey({ home: h, env: {} })
    expect(fresh.keyId).not.toBe(old.keyId)
    expect(readFileSync(keyPaths(h).key).equals(oldBytes)).toBe(false)
    expect(statSync(keyPaths(h).key).mode & 0o777).toBe(0o600)
    expect((await cryptoError(() => fresh.open(sealed))).message).toMatch(/written with another key/)
    expect((await loadCipher({ home: h, env: {} })).keyId).toBe(fresh.keyId)
    // passphrase: a new salt, so the same passphrase gives another key
    const hp = home()
    const env = { MIRADOR_MEMORY_PASSPHRASE: 'correct horse' }
    const p1 = await loadCipher({ home: hp, env, scrypt: FAST })
    const p2 = await replaceKey({ home: hp, env, scrypt: FAST })
    expect(p2.keyId).not.toBe(p1.keyId)
    await cryptoError(() => p2.open(p1.seal('x')))
    // a key kept elsewhere through a link: the file it points to is what is replaced
    const hl = home()
    const drive = path.join(scratch, 'drive')
    const kept = await loadCipher({ home: drive, env: {} })
    const pl = keyPaths(hl)
    mkdirSync(pl.dir, { recursive: true, mode: 0o700 })
    symlinkSync(keyPaths(drive).key, pl.key)
    const before = readFileSync(keyPaths(drive).key)
    const after = await replaceKey({ home: hl, env: {} })
    expect(after.keyId).not.toBe(kept.keyId)
    expect(readFileSync(keyPaths(drive).key).equals(before)).toBe(false)
    expect((await loadCipher({ home: drive, env: {} })).keyId).toBe(after.keyId)
  })
})

describe('passphrase', () => {
  it('scrypt derives the key, salt and parameters kept; the same passphrase opens, another is refused', async () => {
    const h = home()
    const env = { MIRADOR_MEMORY_PASSPHRASE: 'correct horse battery staple' }
    const c1 = await loadCipher({ home: h, env, scrypt: FAST })
    expect(c1.source).toBe('passphrase')
    const salt = JSON.parse(readFileSync(keyPaths(h).salt, 'utf8')) as Record<string, unknown>
    expect(salt).toMatchObject({ version: 1, kdf: 'scrypt', N: FAST.N, r: 8, p: 1, keyLength: 32 })
    expect(Buffer.from(salt.salt as string, 'base64')).toHaveLength(16)
    expect(() => statSync(keyPaths(h).key)).toThrow() // no key file in passphrase mode
    const sealed = c1.seal('sealed with a passphrase')
    const c2 = await loadCipher({ home: h, env: { ...env } })
    expect(c2.open(sealed)).toBe('sealed with a passphrase')
    const e = await cryptoError(loadCipher({ home: h, env: { MIRADOR_MEMORY_PASSPHRASE: 'wrong horse' } }))
    expect(e.message).toContain('MIRADOR_MEMORY_PASSPHRASE is not the passphrase')
  })

  it('data sealed with the key file cannot be opened with a passphrase, and the error says why', async () => {
    const h = home()
    const kf = await loadCipher({ home: h, env: {} })
    const pp = await loadCipher({ home: h, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' }, scrypt: FAST })
    const e = await cryptoError(() => pp.open(kf.seal('key-file data')))
    expect(e.message).toMatch(/another key.*MIRADOR_MEMORY_PASSPHRASE/s)
  })

  it('refuses an empty passphrase and a damaged or hostile salt file', async () => {
    const h = home()
    expect((await cryptoError(loadCipher({ home: h, env: { MIRADOR_MEMORY_PASSPHRASE: '' } }))).message).toMatch(
      /empty/,
    )
    await loadCipher({ home: h, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' }, scrypt: FAST })
    const file = keyPaths(h).salt
    const rec = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    writeFileSync(file, JSON.stringify({ ...rec, N: 2 ** 30 }))
    expect((await cryptoError(loadCipher({ home: h, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' } }))).message).toMatch(
      /damaged/,
    )
    writeFileSync(file, '{not json')
    await cryptoError(loadCipher({ home: h, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' } }))
  })

  it('uses N=2^15 by default and derives within the budget', async () => {
    const h = home()
    const t0 = performance.now()
    await loadCipher({ home: h, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' } })
    const ms = performance.now() - t0
    expect(JSON.parse(readFileSync(keyPaths(h).salt, 'utf8'))).toMatchObject(SCRYPT_DEFAULTS)
    expect(ms).toBeLessThan(1500) // ~80 ms on the development machine; generous for loaded CI
  })
})

describe('sealed files', () => {
  it('hold no plaintext, have mode 0600, and round-trip; a missing file is undefined', async () => {
    const h = home()
    const c = await loadCipher({ home: h, env: {} })
    const file = path.join(h, 'sessions', 'x.session')
    const query = 'where did I park the blue Volvo'
    await sealFile(c, file, JSON.stringify({ query }))
    const bytes = readFileSync(file)
    expect(bytes.includes(Buffer.from(query))).toBe(false)
    expect(bytes.includes(Buffer.from('Volvo'))).toBe(false)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700)
    expect(JSON.parse((await openFile(c, file))!)).toEqual({ query })
    expect(await openFile(c, path.join(h, 'nope'))).toBeUndefined()
  })

  it('a tampered file is refused with its name', async () => {
    const h = home()
    const c = await loadCipher({ home: h, env: {} })
    const file = path.join(h, 'f.sealed')
    await sealFile(c, file, 'content')
    const text = readFileSync(file, 'utf8')
    const i = 20
    writeFileSync(file, text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1))
    const e = await cryptoError(openFile(c, file))
    expect(e.message).toContain(file)
  })
})
