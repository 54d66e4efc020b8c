import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import { loadCipher } from '../../src/lib/crypto.js'
import { Outbox } from '../../src/plugins/memory/outbox.js'
import type { MemoryRecord } from '../../src/plugins/memory/types.js'

const scratch = mkdtempSync(path.join(tmpdir(), 'mirador-outbox-'))
let n = 0
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

async function fresh() {
  const home = path.join(scratch, `h${n++}`)
  const cipher = await loadCipher({ home, env: {} })
  return { home, cipher, outbox: new Outbox(home, cipher) }
}

const T0 = Date.UTC(2025, 0, 1)
const rec = (
  id: string,
  over: Partial<MemoryRecord['meta']> = {},
  text = `Q: question ${id}\nA: answer ${id}`,
): MemoryRecord => ({
  id,
  text,
  embedding: [0.1, -0.2, 0.3],
  meta: { chain: 'quick-deep', runId: `r_${id}`, createdAt: T0, kind: 'turn', recalls: 0, ...over },
})

const batchFiles = (home: string) =>
  readdirSync(path.join(home, 'memory', 'outbox'))
    .filter((f) => f.endsWith('.batch'))
    .sort()

describe('outbox', () => {
  it('seals each batch in its own 0600 file with no plaintext; size and list see them in order', async () => {
    const { home, outbox } = await fresh()
    const secret = 'the access code for the garden gate is 7731'
    await outbox.put([rec('a', {}, `Q: ${secret}\nA: noted`), rec('b')])
    await outbox.put([rec('c')])
    expect(await outbox.put([])).toBeUndefined()
    const files = batchFiles(home)
    expect(files).toHaveLength(2)
    for (const f of files) {
      const file = path.join(home, 'memory', 'outbox', f)
      const bytes = readFileSync(file)
      for (const plain of [secret, 'garden', 'quick-deep', 'r_a', '"id"'])
        expect(bytes.includes(Buffer.from(plain))).toBe(false)
      expect(statSync(file).mode & 0o777).toBe(0o600)
    }
    expect(await outbox.size()).toBe(3)
    expect(await outbox.batches()).toBe(2)
    expect((await outbox.list()).map((r) => r.id)).toEqual(['a', 'b', 'c'])
    expect((await outbox.list())[0]).toEqual(rec('a', {}, `Q: ${secret}\nA: noted`))
  })

  it('drain replays in order and removes what was written', async () => {
    const { home, outbox } = await fresh()
    for (let i = 0; i < 12; i++) await outbox.put([rec(`m${i}`)])
    const written: string[] = []
    const res = await outbox.drain(async (records) => {
      written.push(...records.map((r) => r.id))
    })
    expect(res).toEqual({ batches: 12, records: 12, left: 0 })
    expect(written).toEqual(Array.from({ length: 12 }, (_, i) => `m${i}`))
    expect(batchFiles(home)).toEqual([])
    expect(await outbox.size()).toBe(0)
  })

  it('a failed write keeps its batch and later ones; the next drain ends in order, none lost or doubled', async () => {
    const { outbox } = await fresh()
    for (let i = 0; i < 5; i++) await outbox.put([rec(`m${i}a`), rec(`m${i}b`)])
    const store: string[] = []
    let calls = 0
    const flaky = async (records: MemoryRecord[]) => {
      calls++
      if (calls === 3) throw new Error('chroma: connection refused')
      store.push(...records.map((r) => r.id))
    }
    const first = await outbox.drain(flaky)
    expect(first).toMatchObject({ batches: 2, records: 4, left: 3 })
    expect((first.error as Error).message).toBe('chroma: connection refused')
    expect(await outbox.size()).toBe(6)
    expect((await outbox.list())[0]?.id).toBe('m2a')

    const down = await outbox.drain(async () => {
      throw new Error('still down')
    })
    expect(down).toMatchObject({ batches: 0, left: 3 })
    expect(await outbox.size()).toBe(6)

    const last = await outbox.drain(flaky)
    expect(last).toEqual({ batches: 3, records: 6, left: 0 })
    expect(store).toEqual(['m0a', 'm0b', 'm1a', 'm1b', 'm2a', 'm2b', 'm3a', 'm3b', 'm4a', 'm4b'])
  })

  it('a batch that cannot be opened stops the drain with MEMORY_CRYPTO and is kept', async () => {
    const { home, outbox } = await fresh()
    await outbox.put([rec('a')])
    await outbox.put([rec('b')])
    await outbox.put([rec('c')])
    const [, second] = batchFiles(home)
    const file = path.join(home, 'memory', 'outbox', second!)
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.slice(0, 40) + (text[40] === 'x' ? 'y' : 'x') + text.slice(41))
    const written: string[] = []
    const res = await outbox.drain(async (r) => {
      written.push(...r.map((x) => x.id))
    })
    expect(written).toEqual(['a'])
    expect(res).toMatchObject({ batches: 1, left: 2 })
    expect(MiradorError.is(res.error, 'MEMORY_CRYPTO')).toBe(true)
    expect((res.error as Error).message).toContain(second)
    expect(batchFiles(home)).toHaveLength(2)
    // forget --all still clears it
    expect(await outbox.forget({ all: true })).toBe(1)
    expect(batchFiles(home)).toEqual([])
  })

  it('two drains at once: one replays, the other reports busy; every record is written exactly once', async () => {
    const { outbox } = await fresh()
    for (let i = 0; i < 6; i++) await outbox.put([rec(`m${i}`)])
    const written: string[] = []
    const slow = async (records: MemoryRecord[]) => {
      await new Promise((r) => setTimeout(r, 10))
      written.push(...records.map((r) => r.id))
    }
    const [a, b] = await Promise.all([outbox.drain(slow), outbox.drain(slow)])
    expect([a.busy, b.busy].filter(Boolean)).toHaveLength(1)
    expect(written).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5'])
  })

  it('another home with another key cannot read the batches', async () => {
    const { home, outbox } = await fresh()
    await outbox.put([rec('a')])
    const other = new Outbox(
      home,
      await loadCipher({ home, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' }, scrypt: { N: 1024, r: 8, p: 1 } }),
    )
    await expect(other.size()).rejects.toMatchObject({ code: 'MEMORY_CRYPTO' })
  })
})

describe('outbox forget', () => {
  async function filled() {
    const f = await fresh()
    await f.outbox.put([
      rec('a', { session: 'work', createdAt: T0 }),
      rec('b', { session: 'home', createdAt: T0 + 10 }),
    ])
    await f.outbox.put([rec('c', { session: 'work', createdAt: T0 + 20 }), rec('d', { createdAt: T0 + 30 })])
    await f.outbox.put([rec('e', { session: 'work', createdAt: T0 + 40 })])
    return f
  }
  const ids = async (o: Outbox) => (await o.list()).map((r) => r.id)

  it('by ids, rewriting a batch that keeps records and deleting one that keeps none', async () => {
    const { outbox, home } = await filled()
    expect(await outbox.forget({ ids: ['b', 'e', 'zz'] })).toBe(2)
    expect(await ids(outbox)).toEqual(['a', 'c', 'd'])
    expect(batchFiles(home)).toHaveLength(2)
  })

  it('by session', async () => {
    const { outbox } = await filled()
    expect(await outbox.forget({ session: 'work' })).toBe(3)
    expect(await ids(outbox)).toEqual(['b', 'd'])
  })

  it('before a date (strictly)', async () => {
    const { outbox } = await filled()
    expect(await outbox.forget({ before: T0 + 20 })).toBe(2)
    expect(await ids(outbox)).toEqual(['c', 'd', 'e'])
  })

  it('conditions combine: session and before', async () => {
    const { outbox } = await filled()
    expect(await outbox.forget({ session: 'work', before: T0 + 30 })).toBe(2)
    expect(await ids(outbox)).toEqual(['b', 'd', 'e'])
  })

  it('all; an empty filter is a usage error', async () => {
    const { outbox, home } = await filled()
    await expect(outbox.forget({})).rejects.toMatchObject({ code: 'USAGE' })
    expect(await outbox.forget({ all: true })).toBe(5)
    expect(batchFiles(home)).toEqual([])
    expect(await outbox.size()).toBe(0)
  })

  it('forgotten records are not replayed', async () => {
    const { outbox } = await filled()
    await outbox.forget({ ids: ['c'] })
    const written: string[] = []
    await outbox.drain(async (r) => {
      written.push(...r.map((x) => x.id))
    })
    expect(written).toEqual(['a', 'b', 'd', 'e'])
  })
})
