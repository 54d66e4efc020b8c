/**
 * Loading: the binding and each GGUF are loaded once per process (concurrent first requests
 * share the load), load failures are RUNTIME_LOAD error parts, status() and dispose().
 * This file must start from a fresh module state (jest gives each test file its own).
 */
import { afterAll, expect, test } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createLlamaCpp, llamaCppStats } from '../../src/runtimes/llamacpp/index.js'
import { MiradorError } from '../../src/engine/errors.js'
import type { GenerateRequest } from '../../src/engine/runtime.js'
import { STORY_START, collect, finishOf, textOf } from './helpers.js'
import { TEST_GGUF, describeGguf } from '../support/test-gguf.js'

const GGUF = TEST_GGUF
// raw completion: these tests know the model's greedy continuation of their prompt
const runtime = createLlamaCpp({ threads: 1, chatWrapper: 'none' })
const req = (model: string): GenerateRequest => ({
  model,
  prompt: 'Once upon a time',
  options: { temperature: 0, max_tokens: 30 },
})
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-llamacpp-'))

afterAll(async () => {
  await runtime.dispose?.()
})

describeGguf('llama.cpp loading', () => {
  test('concurrent first requests share one binding load and one model load', async () => {
    expect(llamaCppStats()).toEqual({ bindingLoads: 0, modelLoads: 0, adapterLoads: 0, loadedModels: [] })
    const [a, b] = await Promise.all([collect(runtime, req(GGUF)), collect(runtime, req(GGUF))])
    expect(textOf(a).startsWith(', there was a little girl named Lily.')).toBe(true)
    expect(textOf(b)).toBe(textOf(a))
    expect(llamaCppStats()).toEqual({ bindingLoads: 1, modelLoads: 1, adapterLoads: 0, loadedModels: [GGUF] })

    // later requests, from another runtime instance and by a relative path, reuse the model
    const other = createLlamaCpp({ chatWrapper: 'none' })
    const relative = path.relative(process.cwd(), GGUF)
    expect(textOf(await collect(other, req(relative)))).toBe(textOf(a))
    expect(llamaCppStats()).toEqual({ bindingLoads: 1, modelLoads: 1, adapterLoads: 0, loadedModels: [GGUF] })
    await other.dispose?.()
    // still held by `runtime`
    expect(llamaCppStats().loadedModels).toEqual([GGUF])
  })

  test('the second generation after load streams its first part quickly', async () => {
    const start = performance.now()
    let first = 0
    for await (const part of runtime.generate(req(GGUF)))
      if (!first && part.type === 'text-delta') first = performance.now()
    expect(first - start).toBeLessThan(200) // a few ms in practice
  })

  test('a missing file is one RUNTIME_LOAD error part naming the file, not a throw', async () => {
    const missing = path.join(tmp, 'missing.gguf')
    const parts = await collect(runtime, req(missing))
    expect(parts).toHaveLength(1)
    const [p] = parts
    if (p?.type !== 'error') throw new Error(`expected an error part, got ${JSON.stringify(p)}`)
    expect(p.error).toBeInstanceOf(MiradorError)
    expect(p.error.code).toBe('RUNTIME_LOAD')
    expect(p.error.message).toContain(missing)
    expect(p.error.message).toMatch(/does not exist/)
    // a failed load is not cached as loaded
    expect(llamaCppStats().loadedModels).toEqual([GGUF])
  })

  test('a file that is not GGUF is a RUNTIME_LOAD error part that says so', async () => {
    const bogus = path.join(tmp, 'notes.gguf')
    writeFileSync(bogus, 'this is not a model\n'.repeat(20))
    const parts = await collect(runtime, req(bogus))
    expect(parts).toHaveLength(1)
    const [p] = parts
    expect(p?.type === 'error' && p.error.code).toBe('RUNTIME_LOAD')
    expect(p?.type === 'error' && p.error.message).toMatch(/not a GGUF file/)
  })

  test('a directory is a RUNTIME_LOAD error part', async () => {
    const parts = await collect(runtime, req(tmp))
    expect(parts).toHaveLength(1)
    expect(parts[0]?.type === 'error' && parts[0].error.code).toBe('RUNTIME_LOAD')
  })

  test('status() reports the binding without loading it again', async () => {
    const status = await runtime.status()
    expect(status).toMatchObject({ runtime: 'llamacpp', ok: true })
    expect(status.where).toMatch(/llama\.cpp/)
    expect(status.detail).toMatch(/CPU backend/)
    expect(status.detail).toMatch(/1 thread\(s\) per generation/)
    expect(llamaCppStats().bindingLoads).toBe(1)
  })

  test('dispose() releases the model; the runtime reloads it on the next request', async () => {
    await runtime.dispose?.()
    expect(llamaCppStats().loadedModels).toEqual([])
    const parts = await collect(runtime, req(GGUF))
    expect(textOf(parts).startsWith(STORY_START.slice(0, 30))).toBe(true)
    expect(finishOf(parts).reason).toBe('length')
    expect(llamaCppStats()).toMatchObject({ bindingLoads: 1, loadedModels: [GGUF] })
  })

  test('dispose() during a generation aborts it', async () => {
    const parts = []
    for await (const part of runtime.generate({ ...req(GGUF), options: { temperature: 0, max_tokens: 1500 } })) {
      parts.push(part)
      if (parts.length === 2) void runtime.dispose?.()
    }
    expect(finishOf(parts).reason).toBe('abort')
  })

  test('invalid settings are a USAGE error at creation', () => {
    expect(() => createLlamaCpp({ threads: 0 })).toThrow(expect.objectContaining({ code: 'USAGE' }))
    expect(() => createLlamaCpp({ contextSize: 1.5 })).toThrow(expect.objectContaining({ code: 'USAGE' }))
    expect(() => createLlamaCpp(JSON.parse('{ "gpu": "cuda" }'))).toThrow(expect.objectContaining({ code: 'USAGE' }))
  })
})
