/**
 * The embedded model's download and fallback, for `npm run bench` (section `pull`):
 *
 * - `downloadFile` (src/lib/download.ts: write to .partial, sha256 while streaming, fsync, rename)
 *   of a 128 MB file from the Hugging Face hub double on loopback, through its 302, against node's
 *   fetch reading the same URL into nothing (the network and the server alone);
 * - how long Ollama's runtime takes to say it is not answering (prepare() on a closed port, client
 *   already loaded): what a stage waits before its fallback is chosen, against prepare() of a model
 *   the Ollama test double has (the path a run takes when Ollama answers).
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { downloadFile } from '../src/lib/download.js'
import { createOllama } from '../src/runtimes/ollama/index.js'
import { startHfServer } from '../test/support/hf-server.js'
import { startOllamaTestServer, unusedPort } from '../test/support/ollama-server.js'
import { median } from './lib.js'

export interface PullBench {
  mb: number
  downloadMbPerS: number
  fetchMbPerS: number
  refusedMsP50: number
  answeredMsP50: number
}

const MB = 1e6

export async function benchPull(runs: number): Promise<PullBench> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-pull-'))
  const bytes = 128 * MB
  const data = randomBytes(bytes)
  const sha256 = createHash('sha256').update(data).digest('hex')
  writeFileSync(path.join(dir, 'big.gguf'), data)
  const hub = await startHfServer({
    files: [{ repo: 'bench/big', revision: 'main', file: 'big.gguf', path: path.join(dir, 'big.gguf') }],
    redirect: true,
  })
  const url = `${hub.url}/bench/big/resolve/main/big.gguf`
  const download: number[] = []
  const plain: number[] = []
  try {
    const n = Math.max(3, Math.min(runs, 5))
    for (let i = 0; i < n; i++) {
      const dest = path.join(dir, `out-${i}.gguf`)
      const t0 = performance.now()
      await downloadFile({ url, dest, sha256, size: bytes, retryHint: 'bench' })
      download.push(performance.now() - t0)
      rmSync(dest)
      const t1 = performance.now()
      const res = await fetch(url)
      for await (const _ of res.body ?? []) void _
      plain.push(performance.now() - t1)
    }
  } finally {
    await hub.close()
    rmSync(dir, { recursive: true, force: true })
  }

  const refused = createOllama({ host: `http://127.0.0.1:${await unusedPort()}` })
  const ollama = await startOllamaTestServer()
  const answering = createOllama({ host: ollama.url })
  const refusedMs: number[] = []
  const answeredMs: number[] = []
  try {
    // the client is imported by the first call of each: not what a fallback waits for
    await refused.prepare({ name: 'quick', base: 'llama3.2:1b' }).catch(() => {})
    await answering.prepare({ name: 'quick', base: 'llama3.2:1b' })
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      await refused.prepare({ name: 'quick', base: 'llama3.2:1b' }).catch(() => {})
      refusedMs.push(performance.now() - t0)
      const t1 = performance.now()
      await answering.prepare({ name: 'quick', base: 'llama3.2:1b' })
      answeredMs.push(performance.now() - t1)
    }
  } finally {
    await ollama.close()
  }
  return {
    mb: bytes / MB,
    downloadMbPerS: bytes / MB / (median(download) / 1000),
    fetchMbPerS: bytes / MB / (median(plain) / 1000),
    refusedMsP50: median(refusedMs),
    answeredMsP50: median(answeredMs),
  }
}
