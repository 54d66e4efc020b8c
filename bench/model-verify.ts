/**
 * The checks a model file passes before it loads (src/plugins/models/verify.ts), for `npm run
 * bench` (section `model-files`):
 *
 * - the header and tensor-table check of the test GGUF (open, fstat, header, tensor table, data
 *   layout), a fresh verifier each time, against node-llama-cpp's readGgufFileInfo on the same file
 *   (the reader the llama.cpp runtime used for adapters before, which checks less);
 * - sha256 throughput on a generated 200 MB GGUF pinned in a manifest, uncached, against
 *   `sha256sum` on the same file (or, without it, node's hash of the bytes already in memory);
 * - the same pinned file checked again by a new verifier (a new process would be the same), its hash
 *   taken from the cache, against the uncached check.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Engine } from '../src/engine/engine.js'
import { ModelsPlugin } from '../src/plugins/models/index.js'
import { writeLargeGguf } from '../test/support/gguf.js'
import { median } from './lib.js'

export interface ModelVerifyBench {
  header: { p50: number; llamaCppReaderP50: number; tensors: number }
  sha: { mb: number; uncachedP50: number; mbPerS: number; baseline: string; baselineMbPerS: number }
  cached: { p50: number }
}

const MB = 1e6

function setUp(dir: string, manifest: string) {
  mkdirSync(path.join(dir, 'models'), { recursive: true })
  writeFileSync(path.join(dir, 'models/manifest.yaml'), manifest)
  const home = path.join(dir, 'home')
  mkdirSync(home, { recursive: true })
  return () => {
    const engine = new Engine({ cwd: dir, home, offline: true, memory: true, config: {} })
    const models = new ModelsPlugin({ manifest: path.join(dir, 'models/manifest.yaml') })
    engine.use(models)
    return models
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

export async function benchModelVerify(gguf: string, runs: number): Promise<ModelVerifyBench> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-verify-'))
  try {
    // header and tensor table of the test model, a fresh verifier (no memo) each run
    const small = setUp(path.join(dir, 'small'), `models:\n  story: { runtime: llamacpp, base: "${gguf}" }\n`)
    const headerTimes: number[] = []
    let tensors = 0
    for (let i = 0; i < runs * 3; i++) {
      const models = small()
      const r = await models.resolve('story')
      headerTimes.push(
        await timed(async () => {
          const [base] = await models.verifier().check(r)
          if (base?.error) throw base.error
          tensors = base?.gguf?.tensors ?? 0
        }),
      )
    }
    const { readGgufFileInfo } = await import('node-llama-cpp')
    const theirs: number[] = []
    for (let i = 0; i < runs * 3; i++)
      theirs.push(await timed(() => readGgufFileInfo(gguf, { logWarnings: false, sourceType: 'filesystem' })))

    // sha256 of a 200 MB pinned GGUF: uncached, then from the cache
    const big = path.join(dir, 'big.gguf')
    const size = writeLargeGguf(big, 200 * MB)
    const sha = createHash('sha256').update(readFileSync(big)).digest('hex')
    const pinned = setUp(
      path.join(dir, 'pinned'),
      `models:\n  big: { runtime: llamacpp, base: "${big}", sha256: ${sha} }\n`,
    )
    const check = async (rehash: boolean) => {
      const models = pinned()
      const r = await models.resolve('big')
      return timed(async () => {
        const [base] = await models.verifier().check(r, { rehash })
        if (base?.error) throw base.error
        if (base?.sha256?.cached === rehash) throw new Error(`expected cached ${!rehash}`)
      })
    }
    const hashRuns = Math.max(3, Math.min(runs, 5))
    const uncached: number[] = []
    for (let i = 0; i < hashRuns; i++) uncached.push(await check(true))
    const cached: number[] = []
    for (let i = 0; i < runs * 3; i++) cached.push(await check(false))

    let baseline = 'sha256sum'
    let baselineMs: number
    try {
      const times: number[] = []
      for (let i = 0; i < hashRuns; i++) times.push(await timed(async () => execFileSync('sha256sum', [big])))
      baselineMs = median(times)
    } catch {
      baseline = "node's createHash, bytes in memory"
      const bytes = readFileSync(big)
      const times: number[] = []
      for (let i = 0; i < hashRuns; i++)
        times.push(await timed(async () => createHash('sha256').update(bytes).digest('hex')))
      baselineMs = median(times)
    }
    const uncachedP50 = median(uncached)
    return {
      header: { p50: median(headerTimes), llamaCppReaderP50: median(theirs), tensors },
      sha: {
        mb: size / MB,
        uncachedP50,
        mbPerS: size / MB / (uncachedP50 / 1000),
        baseline,
        baselineMbPerS: size / MB / (baselineMs / 1000),
      },
      cached: { p50: median(cached) },
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
