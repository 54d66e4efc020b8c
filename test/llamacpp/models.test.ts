/**
 * prepare / unload / listLoaded on the real stories260K GGUF (MIRADOR_TEST_GGUF), with generated
 * LoRA adapters. This file must start from a fresh module state (jest gives each test file its own).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtempSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import type { GenerateRequest, Progress } from '../../src/engine/runtime.js'
import { createLlamaCpp, llamaCppStats } from '../../src/runtimes/llamacpp/index.js'
import { makeLoraAdapter } from '../support/make-lora.js'
import { STORY_START, collect, finishOf, textOf } from './helpers.js'
import { TEST_GGUF, describeGguf } from '../support/test-gguf.js'

const GGUF = TEST_GGUF
// raw completion: these tests know the model's greedy continuation of their prompt
const runtime = createLlamaCpp({ threads: 1, chatWrapper: 'none' })
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-llamacpp-models-'))
const A = path.join(tmp, 'a.gguf')
const B = path.join(tmp, 'b.gguf')
const req = (extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: GGUF,
  prompt: 'Once upon a time',
  options: { temperature: 0, max_tokens: 30 },
  ...extra,
})
const rejection = async (p: Promise<unknown>): Promise<MiradorError> => {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(MiradorError)
    return err as MiradorError
  }
  throw new Error('expected a rejection')
}

afterAll(async () => {
  await runtime.dispose?.()
})

describeGguf('llama.cpp prepare / unload / listLoaded', () => {
  beforeAll(async () => {
    await makeLoraAdapter({ base: GGUF, out: A, seed: 1 })
    await makeLoraAdapter({ base: GGUF, out: B, seed: 2 })
  })

  test('nothing is loaded at first', async () => {
    expect(await runtime.listLoaded!()).toEqual([])
    expect(llamaCppStats()).toEqual({ bindingLoads: 0, modelLoads: 0, adapterLoads: 0, loadedModels: [] })
  })

  test('prepare loads the base once and reports its size; listLoaded lists it', async () => {
    const updates: Progress[] = []
    const prepared = await runtime.prepare!({ name: 'stories', base: GGUF }, { onProgress: (p) => updates.push(p) })
    expect(prepared).toEqual({ model: GGUF, sizeBytes: expect.any(Number) })
    // node-llama-cpp's size of the tensors in memory: about the file, less its header
    expect(prepared.sizeBytes).toBeGreaterThan(1_000_000)
    expect(prepared.sizeBytes).toBeLessThanOrEqual(statSync(GGUF).size)
    expect(updates.at(-1)).toEqual({ status: 'ready' })
    expect(await runtime.listLoaded!()).toEqual([{ model: GGUF, sizeBytes: prepared.sizeBytes }])
    // prepared twice (once by a relative path), generated on: still one load, one name
    const again = await runtime.prepare!({ name: 'stories', base: path.relative(process.cwd(), GGUF) })
    expect(again.model).toBe(GGUF)
    expect(textOf(await collect(runtime, req())).startsWith(STORY_START.slice(0, 40))).toBe(true)
    expect(llamaCppStats()).toMatchObject({ bindingLoads: 1, modelLoads: 1, loadedModels: [GGUF] })
  })

  test('prepare with adapters loads them onto the base; generation then reuses them', async () => {
    const before = (await runtime.listLoaded!())[0]!.sizeBytes
    const updates: Progress[] = []
    const adapters = [{ file: A, scale: 1 }, { file: B }]
    const prepared = await runtime.prepare!(
      { name: 'stories-ab', base: GGUF, adapters },
      { onProgress: (p) => updates.push(p) },
    )
    expect(prepared).toEqual({ model: GGUF, adapters, sizeBytes: before + statSync(A).size + statSync(B).size })
    expect(updates.map((u) => u.status)).toEqual([
      'loading ' + GGUF,
      'checking adapters',
      'loading adapters',
      'loading adapters',
      'ready',
    ])
    expect(llamaCppStats()).toMatchObject({ modelLoads: 1, adapterLoads: 2 })
    expect(await runtime.listLoaded!()).toEqual([{ model: GGUF, sizeBytes: prepared.sizeBytes }])

    const withA = textOf(await collect(runtime, req({ model: prepared.model, adapters: [{ file: A, scale: 1 }] })))
    expect(withA.startsWith(STORY_START.slice(0, 40))).toBe(false)
    expect(llamaCppStats()).toMatchObject({ modelLoads: 1, adapterLoads: 2 })
  })

  test('prepare with a missing or invalid adapter throws RUNTIME_LOAD naming the file', async () => {
    const missing = path.join(tmp, 'missing.gguf')
    const err = await rejection(
      runtime.prepare!({ name: 'bad', base: GGUF, adapters: [{ file: A }, { file: missing }] }),
    )
    expect(err.code).toBe('RUNTIME_LOAD')
    expect(err.message).toContain(missing)
    expect(err.message).toMatch(/does not exist/)
    const notAdapter = await rejection(runtime.prepare!({ name: 'bad', base: GGUF, adapters: [{ file: GGUF }] }))
    expect(notAdapter.code).toBe('RUNTIME_LOAD')
    expect(notAdapter.message).toMatch(/is a model, not an adapter/)
    // the base stays loaded and usable
    expect(await runtime.listLoaded!()).toHaveLength(1)
  })

  test('prepare of a missing base throws RUNTIME_LOAD; an aborted prepare throws ABORTED', async () => {
    const missing = path.join(tmp, 'no-model.gguf')
    const err = await rejection(runtime.prepare!({ name: 'gone', base: missing }))
    expect(err.code).toBe('RUNTIME_LOAD')
    expect(err.message).toContain(missing)
    const aborted = await rejection(runtime.prepare!({ name: 'stories', base: GGUF }, { signal: AbortSignal.abort() }))
    expect(aborted.code).toBe('ABORTED')
    expect(llamaCppStats().loadedModels).toEqual([GGUF])
  })

  test('unload refuses while a generation runs on the model, which then finishes normally', async () => {
    const stream = runtime.generate(req({ options: { temperature: 0, max_tokens: 200 } }))
    const parts = []
    let refused: MiradorError | undefined
    for await (const part of stream) {
      parts.push(part)
      if (parts.length === 3) refused = await rejection(runtime.unload!(GGUF))
    }
    expect(refused?.code).toBe('USAGE')
    expect(refused?.message).toMatch(/in use by 1 running generation/)
    expect(finishOf(parts)).toMatchObject({ reason: 'length', usage: { completionTokens: 200 } })
    expect(llamaCppStats().loadedModels).toEqual([GGUF])
  })

  test('unload frees the model; the next generation loads it (and its adapters) again', async () => {
    const loadsBefore = llamaCppStats()
    await runtime.unload!(GGUF)
    expect(await runtime.listLoaded!()).toEqual([])
    expect(llamaCppStats().loadedModels).toEqual([])
    // unloading what is not loaded is harmless
    await runtime.unload!(GGUF)
    await runtime.unload!(path.join(tmp, 'never-loaded.gguf'))

    const parts = await collect(runtime, req({ adapters: [{ file: B }] }))
    expect(finishOf(parts).reason).toBe('length')
    expect(llamaCppStats()).toMatchObject({
      modelLoads: loadsBefore.modelLoads + 1,
      adapterLoads: loadsBefore.adapterLoads + 1,
      loadedModels: [GGUF],
    })
    const [info] = await runtime.listLoaded!()
    expect(info).toEqual({ model: GGUF, sizeBytes: expect.any(Number) })
    expect(info!.sizeBytes).toBeGreaterThan(statSync(B).size)
  })

  test('unload by a relative path is the same model', async () => {
    await runtime.unload!(path.relative(process.cwd(), GGUF))
    expect(await runtime.listLoaded!()).toEqual([])
  })
})
