/**
 * LoRA adapter switching on the llama.cpp runtime against loading a second full model.
 *
 * - switchMs: median time, on one loaded base with two (generated) adapters already loaded onto
 *   it, from asking for a generation with the other adapter than the last one to its first token.
 *   Each generation gets its own context with its adapter (src/runtimes/llamacpp/generate.ts), so
 *   this is context creation + adapter attach + prompt evaluation + the first token.
 * - secondModelMs: median time to load a second full model (a copy of the base GGUF in a temp
 *   file, so llama.cpp sees another model) and stream its first token; it is unloaded between
 *   runs. The file stays in the OS page cache, so this is the best case for a second model.
 *
 * Run alone: node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/lora-switch.ts [base.gguf] [runs]
 * (base defaults to $MIRADOR_TEST_GGUF).
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { AdapterSpec, GenerateRequest, Runtime } from '../src/engine/runtime.js'
import { createLlamaCpp } from '../src/runtimes/llamacpp/index.js'
import { makeLoraAdapter } from '../test/support/make-lora.js'
import { median } from './lib.js'

/** ms from asking for a generation to its first text-delta (the generation then runs to its end) */
async function firstTokenMs(runtime: Runtime, model: string, adapters?: AdapterSpec[]): Promise<number> {
  const req: GenerateRequest = {
    model,
    prompt: 'Once upon a time',
    ...(adapters && { adapters }),
    options: { temperature: 0, max_tokens: 1 },
  }
  const t0 = performance.now()
  let first = -1
  for await (const part of runtime.generate(req)) {
    if (part.type === 'error') throw part.error
    if (part.type === 'text-delta' && first < 0) first = performance.now() - t0
  }
  if (first < 0) throw new Error(`no token from ${model}`)
  return first
}

export async function benchAdapterSwitch(
  baseFile: string,
  runs = 20,
): Promise<{ switchMs: number; secondModelMs: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-lora-'))
  const runtime = createLlamaCpp({ threads: 1 })
  try {
    const [a, b] = await Promise.all([
      makeLoraAdapter({ base: baseFile, out: path.join(dir, 'a.gguf'), seed: 1 }),
      makeLoraAdapter({ base: baseFile, out: path.join(dir, 'b.gguf'), seed: 2 }),
    ])
    const adapters: AdapterSpec[][] = [[{ file: a.file, scale: 1 }], [{ file: b.file, scale: 1 }]]

    // one base with both adapters loaded onto it, warmed
    await runtime.prepare!({ name: 'bench-base', base: baseFile, adapters: [...adapters[0]!, ...adapters[1]!] })
    for (const ad of adapters) await firstTokenMs(runtime, baseFile, ad)

    const switches: number[] = []
    for (let i = 0; i < runs; i++) switches.push(await firstTokenMs(runtime, baseFile, adapters[i % 2]))

    // a second full model: same bytes, another file, loaded next to the base, unloaded after each run
    const second = path.join(dir, 'second.gguf')
    copyFileSync(baseFile, second)
    const loads: number[] = []
    for (let i = 0; i < runs; i++) {
      loads.push(await firstTokenMs(runtime, second))
      await runtime.unload!(second)
    }
    return { switchMs: median(switches), secondModelMs: median(loads) }
  } finally {
    await runtime.dispose?.()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const base = process.argv[2] ?? process.env.MIRADOR_TEST_GGUF
  const runs = Number(process.argv[3] ?? 20)
  if (!base) {
    process.stderr.write('usage: lora-switch.ts BASE.gguf [runs]  (or set MIRADOR_TEST_GGUF)\n')
    process.exitCode = 2
  } else {
    const r = await benchAdapterSwitch(path.resolve(base), runs)
    process.stdout.write(
      `adapter switch → first token: ${r.switchMs.toFixed(2)} ms (median of ${runs})\n` +
        `second full model load → first token: ${r.secondModelMs.toFixed(2)} ms (median of ${runs})\n` +
        `ratio: ${(r.secondModelMs / r.switchMs).toFixed(1)}×\n`,
    )
  }
}
