/** The validation cache: files validated once are not parsed again while unchanged. */
import { afterEach, describe, expect, it } from '@jest/globals'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { useConfigCache } from '../../src/engine/config/cache.js'
import { loadConfigFile, locate } from '../../src/engine/config/index.js'
import type { Loaded } from '../../src/engine/config/index.js'

afterEach(() => useConfigCache(undefined))

function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-cache-'))
  const cache = path.join(dir, 'cache')
  useConfigCache(cache)
  const file = path.join(dir, 'single.yaml')
  const entries = () => readdirSync(cache).filter((f) => f.endsWith('.json'))
  return { dir, cache, file, entries }
}

const CHAIN = 'description: one stage\nstages:\n  s:\n    model: m\n    prompt: "{{query}}"\n'

describe('validation cache', () => {
  it('a valid file is kept by content; the next load takes it from there, with the same value', async () => {
    const { file, entries, cache } = setup()
    writeFileSync(file, CHAIN)
    const first = await loadConfigFile(file, 'chain')
    expect(entries()).toHaveLength(1)
    // what the next load returns is what the cache holds: mark it to see it come back
    const entry = path.join(cache, entries()[0]!)
    const kept = JSON.parse(readFileSync(entry, 'utf8'))
    kept.value.description = 'from the cache'
    writeFileSync(entry, JSON.stringify(kept))
    const second = await loadConfigFile<{ description: string; name: string }>(file, 'chain')
    expect(second.value.description).toBe('from the cache')
    expect(second.value.name).toBe((first.value as { name: string }).name)
  })

  it('a cached file still locates its keys (the Document is parsed when asked for)', async () => {
    const { file } = setup()
    writeFileSync(file, CHAIN)
    await loadConfigFile(file, 'chain')
    const cached = await loadConfigFile(file, 'chain')
    expect(locate(cached as Loaded<unknown>, ['stages', 's', 'prompt'])).toEqual({ file, line: 5, column: 13 })
  })

  it('a changed file, other stage keys or a broken entry miss; an invalid file is never kept', async () => {
    const { file, entries, cache } = setup()
    writeFileSync(file, CHAIN)
    await loadConfigFile(file, 'chain')
    writeFileSync(file, CHAIN.replace('one stage', 'still one stage'))
    expect((await loadConfigFile<{ description: string }>(file, 'chain')).value.description).toBe('still one stage')
    await loadConfigFile(file, 'chain', { extraStageProperties: { mood: { type: 'string' } } })
    expect(entries()).toHaveLength(3)
    for (const e of entries()) writeFileSync(path.join(cache, e), '{ not json')
    expect((await loadConfigFile<{ description: string }>(file, 'chain')).value.description).toBe('still one stage')
    const before = entries().length
    writeFileSync(file, CHAIN.replace('model: m', 'modle: m'))
    await expect(loadConfigFile(file, 'chain')).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    await expect(loadConfigFile(file, 'chain')).rejects.toMatchObject({ code: 'CONFIG_INVALID' })
    expect(entries()).toHaveLength(before)
  })

  it('off unless a folder is given', async () => {
    const { file, cache } = setup()
    useConfigCache(undefined)
    writeFileSync(file, CHAIN)
    await loadConfigFile(file, 'chain')
    expect(() => readdirSync(cache)).toThrow()
  })
})
