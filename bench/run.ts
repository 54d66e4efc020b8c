/**
 * `npm run bench`: the engine spine's numbers, all measured on this machine in this run, each
 * against a baseline measured beside it, so the ratios hold even on a noisy machine.
 *
 *   1. process start → `ack` printed by `chain run --json`, against `node -e` printing a byte; and
 *      process start → first token (memory on and off, warm home) against a script using the ollama client
 *   2. tokens/s through `chain run` against the raw ollama client, same test server, and the CPU a
 *      token costs in process (--json and plain) against the client's own loop
 *   3. wall time of quick-deep against its slower stage alone
 *   4. first token in-process on llama.cpp (tiny GGUF), after load; the chat template against raw completion
 *   5. eviction hit ratios on request traces: Mirador's policy, LRU, GDSF, Belady's oracle
 *   6. switching adapters on one loaded base against loading a second full model
 *   7. `models du` for the shipped manifest and for one with adapters on shared bases
 *   8. memory recall latency at 1k and 10k memories on Chroma, and what injection adds before the first token
 *   9. tool call latency in the sandbox (warm and cold pool) against node:vm
 *  10. the learner: routing share on a simulated user, and weight rewrite latency
 *  11. energy per query under each energy profile over a simulated day
 *  12. memory recall quality (recall@5 and MRR per kind of question: BM25, vectors, fused) on two labelled sets
 *  13. documents: indexing throughput, a sync with nothing changed, `docs search` at 10,000 passages
 *  14. checks: `tools check` on the shipped tools, the static analyzer on a 5 MB package, and a
 *      tool's argument check with a backtracking pattern (RE2)
 *  15. model files: the header and tensor-table check of the test GGUF, sha256 throughput on a 200 MB
 *      pinned GGUF, and the same file checked with its hash cached
 *  16. plugin-check: `plugins check` on the example plugin and on a 5 MB package, whole process
 *  17. sandboxed plugins: one proxied tap against the same tap in process, the first token with two
 *      warm sandboxed plugins against none, and a plugin host's cold start
 *  18. serve: tokens/s and first token of a chain streamed through /v1/chat/completions against the
 *      same chain on a warm engine in process, and 8 concurrent streams
 *  19. chat: keystroke (a line written to `mirador chat`) to first token, against `chain run`'s
 *      spawn to first token
 *  20. mcp: a tool call round trip through MCP (the MCP plugin to `mirador mcp` and its sandbox)
 *      against the same call in process, and MCP alone (a fixture server)
 *  21. pull: the embedded model's download on loopback, and how fast a closed Ollama is noticed
 *  22. federation exchanges: 50 members put a file each at once, per exchange kind
 *  23. federation secure aggregation: one round of 50 members (5 drop out), its phases and file sizes
 *  24. federation prior: a new member's share of queries routed to its best chain with the community prior of
 *      50 simulated members against without it, at ε 1 and 0.1, local and distributed noise
 *  25. federation round: a whole round of 50 members on a folder exchange through the library, its phases,
 *      the aggregation (goal ≤ 10 s) and the files' sizes
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startOllamaTestServer } from '../test/support/ollama-server.js'
import { makeLoraAdapter } from '../test/support/make-lora.js'
import { belady, evictionRows, lru, mirador, traces } from './eviction.js'
import { benchFirstToken } from './first-token.js'
import { fmt, median, printTable, timeChild, type Row } from './lib.js'
import { throughputRows } from './throughput.js'
import { tokenCostRows } from './token-cost.js'
import { benchAdapterSwitch } from './lora-switch.js'
import { memoryBench } from './memory-bench.js'
import { benchToolLatency } from './tools-latency.js'
import { optimalShare, simulateUser } from './learner-sim.js'
import { benchRewrite } from './learner-rewrite.js'
import { energyRows } from './energy-day.js'
import { printRecallRows, runRecallBenchmark } from './memory-recall.js'
import { docsBench } from './docs-bench.js'
import { benchChecks } from './static-analysis.js'
import { benchModelVerify } from './model-verify.js'
import { benchPluginCheck } from './plugin-check.js'
import { benchPlugins } from './plugins-sandbox.js'
import { benchServe, SERVE_MODEL } from './serve.js'
import { benchChat } from './chat.js'
import { benchLlamaCppChat } from './llamacpp-chat.js'
import { benchMcp } from './mcp.js'
import { benchPull } from './pull.js'
import { benchExchanges } from './federation-exchange.js'
import { benchSecagg } from './federation-secagg.js'
import { benchRound } from './federation-round.js'
import { benchPrior, points, priorPrivacyCost, sharePct } from './federation-prior.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const RUNS = Number(process.env.BENCH_RUNS ?? 11)
const rows: Row[] = []
/** the sections to run, by name (BENCH_ONLY=throughput,eviction); all when unset */
const SECTIONS = [
  'start',
  'first-token',
  'throughput',
  'quick-deep',
  'llamacpp',
  'eviction',
  'adapters',
  'du',
  'memory',
  'tools',
  'learner',
  'energy',
  'recall',
  'docs',
  'checks',
  'model-files',
  'plugin-check',
  'plugins',
  'serve',
  'chat',
  'mcp',
  'pull',
  'federation-exchange',
  'federation-secagg',
  'federation-round',
  'federation-prior',
] as const
type Section = (typeof SECTIONS)[number]
const only = (process.env.BENCH_ONLY ?? '')
  .split(',')
  .map((x) => x.trim())
  .filter(Boolean)
for (const name of only) {
  if (!(SECTIONS as readonly string[]).includes(name)) {
    console.error(`BENCH_ONLY: unknown section "${name}"; the sections are ${SECTIONS.join(', ')}`)
    process.exit(2)
  }
}
const want = (section: Section) => only.length === 0 || only.includes(section)
const gguf = path.resolve(process.env.MIRADOR_TEST_GGUF ?? path.join(ROOT, '../shared/models/stories260K.gguf'))

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    writeFileSync(path.join(dir, rel), text)
  }
  mkdirSync(path.join(dir, 'home'), { recursive: true })
  return dir
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ')

async function main() {
  const server = await startOllamaTestServer({
    models: [
      { name: 'quick:1b', reply: () => words(40) },
      { name: 'deep:7b', reply: () => words(120) },
      { name: 'stream:1b', reply: () => words(4000) },
    ],
  })
  const dir = project({
    'models/manifest.yaml':
      'models:\n  quick: { runtime: ollama, base: "quick:1b" }\n  deep: { runtime: ollama, base: "deep:7b" }\n' +
      '  stream: { runtime: ollama, base: "stream:1b" }\n',
    'chains/quick-deep.yaml':
      'stages:\n  quick: { model: quick, prompt: "{{query}}" }\n  deep: { model: deep, prompt: "{{query}}" }\n',
    'chains/deep-only.yaml': 'stages:\n  deep: { model: deep, prompt: "{{query}}" }\n',
    'chains/stream.yaml': 'stages:\n  s: { model: stream, prompt: "{{query}}", options: { max_tokens: 100000 } }\n',
  })
  // the spine's numbers are measured without memory (it has its own rows below)
  const env = {
    ...process.env,
    MIRADOR_HOME: path.join(dir, 'home'),
    OLLAMA_HOST: server.url,
    NO_COLOR: '1',
    MIRADOR_MEMORY: 'off',
  }

  // 1. start → ack
  if (want('start')) {
    const ack: number[] = []
    const bare: number[] = []
    for (let i = 0; i < RUNS; i++) {
      bare.push((await timeChild(process.execPath, ['-e', "process.stdout.write('x')"])).firstByte)
      ack.push(
        (await timeChild(process.execPath, [BIN, 'chain', 'run', 'quick-deep', 'hello', '--json'], { cwd: dir, env }))
          .firstByte,
      )
    }
    const r = median(ack) / median(bare)
    rows.push({
      benchmark: 'start → ack (chain run --json)',
      measured: fmt(median(ack)),
      baseline: `node -e: ${fmt(median(bare))}`,
      ratio: `${r.toFixed(2)}×`,
      goal: '≤ 2×',
      met: r <= 2 ? 'yes' : 'no',
    })
  }

  // 1b. start → first token, against a plain script using the ollama client, memory on and off
  if (want('first-token')) {
    const ft = project({
      'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "quick:1b" }\n',
      'chains/single.yaml': 'stages:\n  s: { model: quick, prompt: "{{memory}}\\n{{query}}" }\n',
    })
    const ftEnv = { ...env, MIRADOR_HOME: path.join(ft, 'home'), MIRADOR_CHROMA_IDLE_MS: '120000' }
    for (const memory of ['on', 'off'] as const) {
      const r = await benchFirstToken({
        dir: ft,
        env: { ...ftEnv, MIRADOR_MEMORY: memory },
        chain: 'single',
        runs: RUNS,
      })
      const ratio = r.mirador / r.raw
      const p = r.phases
      rows.push({
        benchmark: `start → first token, memory ${memory} (warm home)`,
        measured:
          `${fmt(r.mirador)} (ack ${fmt(r.ack)}; ` +
          `in-run t: plan ${p.plan}, stage-start ${p['stage-start']}, token ${p.token})`,
        baseline: `raw client: ${fmt(r.raw)}`,
        ratio: `${ratio.toFixed(2)}× (runs ${fmt(r.spread.mirador[0])}–${fmt(r.spread.mirador[1])})`,
        goal: '≤ 1.3×',
        met: ratio <= 1.3 ? 'yes' : 'no',
      })
    }
    await timeChild(process.execPath, [BIN, 'memory', 'stop'], { cwd: ft, env: ftEnv })
  }

  // 2. tokens/s: chain run vs the raw client (throughput.ts), and the CPU a token costs in process (token-cost.ts)
  if (want('throughput')) {
    rows.push(...(await throughputRows({ server, dir, env, bin: BIN, root: ROOT, runs: RUNS })))
    rows.push(...(await tokenCostRows()))
  }

  // 3. quick-deep against deep alone (5 ms per token: quick 40 tokens, deep 120)
  if (want('quick-deep')) {
    server.setOptions({ tokenDelayMs: 5, tokens: undefined })
    const both: number[] = []
    const alone: number[] = []
    for (let i = 0; i < Math.max(3, RUNS >> 1); i++) {
      const done = (out: string) => (JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number }).ms
      both.push(
        done(
          (await timeChild(process.execPath, [BIN, 'chain', 'run', 'quick-deep', 'q', '--json'], { cwd: dir, env }))
            .stdout,
        ),
      )
      alone.push(
        done(
          (await timeChild(process.execPath, [BIN, 'chain', 'run', 'deep-only', 'q', '--json'], { cwd: dir, env }))
            .stdout,
        ),
      )
    }
    const r = median(both) / median(alone)
    rows.push({
      benchmark: 'quick-deep wall time',
      measured: fmt(median(both)),
      baseline: `deep alone: ${fmt(median(alone))}`,
      ratio: `${r.toFixed(3)}×`,
      goal: '≤ 1.1×',
      met: r <= 1.1 ? 'yes' : 'no',
    })
  }
  await server.close()

  // 4. llama.cpp first token after load, in-process
  if (want('llamacpp')) {
    const file = gguf
    const { createLlamaCpp } = await import('../src/runtimes/llamacpp/index.js')
    const rt = createLlamaCpp({ threads: 1, contextSize: 256 })
    const firstToken = async () => {
      const t0 = performance.now()
      let first = -1
      for await (const part of rt.generate({
        model: file,
        prompt: 'Once upon a time',
        options: { temperature: 0, max_tokens: 8 },
        logprobs: true,
      })) {
        if (part.type === 'text-delta' && first < 0) first = performance.now() - t0
        if (part.type === 'error') throw part.error
      }
      return first
    }
    await firstToken() // load
    const times: number[] = []
    for (let i = 0; i < 20; i++) times.push(await firstToken())
    await rt.dispose?.()
    const m = median(times)
    rows.push({
      benchmark: 'llama.cpp first token after load',
      measured: fmt(m),
      baseline: '—',
      ratio: '—',
      goal: '≤ 10 ms',
      met: m <= 10 ? 'yes' : 'no',
    })
    // the chat template (LlamaChat) against raw completion, first token and tokens/s
    const c = await benchLlamaCppChat(file, Math.max(5, RUNS))
    rows.push(
      {
        benchmark: 'llama.cpp chat template: first token',
        measured: fmt(c.firstMs.chat),
        baseline: `raw completion: ${fmt(c.firstMs.raw)}`,
        ratio: `${(c.firstMs.chat / c.firstMs.raw).toFixed(2)}×`,
        goal: '≤ 10 ms',
        met: c.firstMs.chat <= 10 ? 'yes' : 'no',
      },
      {
        benchmark: 'llama.cpp chat template: tokens/s',
        measured: `${c.tokensPerSecond.chat.toFixed(0)} tokens/s`,
        baseline: `raw completion: ${c.tokensPerSecond.raw.toFixed(0)} tokens/s`,
        ratio: `${(c.tokensPerSecond.chat / c.tokensPerSecond.raw).toFixed(2)}×`,
        goal: 'report',
        met: '—',
      },
    )
  }

  // 5. eviction: hit ratios on request traces (seed 42), and the worst ratio over five more seeds
  for (const r of want('eviction') ? evictionRows() : []) {
    const ratio = r.mirador / r.belady
    rows.push({
      benchmark: `eviction: ${r.trace}`,
      measured: `hit ratio ${r.mirador.toFixed(3)}`,
      baseline: `LRU ${r.lru.toFixed(3)}, GDSF ${r.gdsf.toFixed(3)}, Belady ${r.belady.toFixed(3)}`,
      ratio: `${ratio.toFixed(3)}× Belady`,
      goal: '≥ 0.9× Belady, > LRU',
      met: ratio >= 0.9 && r.mirador > r.lru ? 'yes' : 'no',
    })
  }
  if (want('eviction')) {
    const ratios = [1, 2, 3, 7, 99].flatMap((seed) =>
      traces(seed).map((t) => ({ ratio: mirador(t) / belady(t), aboveLru: mirador(t) > lru(t) })),
    )
    const worst = Math.min(...ratios.map((r) => r.ratio))
    rows.push({
      benchmark: 'eviction: worst of 15 (5 seeds × 3 traces)',
      measured: `${worst.toFixed(3)}× Belady`,
      baseline: '—',
      ratio: `${worst.toFixed(3)}×`,
      goal: '≥ 0.9× Belady, > LRU',
      met: worst >= 0.9 && ratios.every((r) => r.aboveLru) ? 'yes' : 'no',
    })
  }

  // 6. switching adapters on one loaded base against loading a second full model (tiny GGUF)
  if (want('adapters')) {
    const { switchMs, secondModelMs } = await benchAdapterSwitch(gguf)
    rows.push({
      benchmark: 'adapter switch on a loaded base',
      measured: fmt(switchMs),
      baseline: `second full model: ${fmt(secondModelMs)}`,
      ratio: `${(secondModelMs / switchMs).toFixed(1)}× faster`,
      goal: 'report',
      met: '—',
    })
  }

  // 7. storage: `models du` for the shipped manifest, and for one with adapters on shared bases
  if (want('du')) {
    const s2 = await startOllamaTestServer()
    const du = async (cwd: string) =>
      JSON.parse(
        (
          await timeChild(process.execPath, [BIN, 'models', 'du', '--json'], {
            cwd,
            env: { ...env, OLLAMA_HOST: s2.url, MIRADOR_GGUF: gguf },
          })
        ).stdout,
      ) as { actualBytes: number; fullCopiesBytes: number; savedBytes: number; adapters: unknown[] }
    const describe = (d: { actualBytes: number; fullCopiesBytes: number; savedBytes: number; adapters: unknown[] }) =>
      `${(d.actualBytes / 1e9).toFixed(3)} GB, ${d.adapters.length} adapters`
    const shipped = await du(project({}))
    rows.push({
      benchmark: 'models du: shipped manifest',
      measured: describe(shipped),
      baseline: `full copies ${(shipped.fullCopiesBytes / 1e9).toFixed(3)} GB`,
      ratio: `saved ${(shipped.savedBytes / 1e9).toFixed(3)} GB`,
      goal: 'report',
      met: '—',
    })
    const loraModels = ['poet', 'coder', 'chef']
      .map((n) => `  ${n}: { runtime: llamacpp, base: "\${MIRADOR_GGUF}", lora: ../adapters/${n}.gguf }\n`)
      .join('')
    const demo = project({
      'models/manifest.yaml': `models:
  story: { runtime: llamacpp, base: "\${MIRADOR_GGUF}" }
${loraModels}  quick: { runtime: ollama, base: "llama3.2:1b" }
  quick-sql: { runtime: ollama, base: "llama3.2:1b", lora: ../adapters/sql.gguf }
`,
    })
    mkdirSync(path.join(demo, 'adapters'), { recursive: true })
    for (const [i, n] of ['poet', 'coder', 'chef', 'sql'].entries())
      await makeLoraAdapter({ base: gguf, out: path.join(demo, 'adapters', `${n}.gguf`), seed: i + 1 })
    const withAdapters = await du(demo)
    rows.push({
      benchmark: 'models du: 4 adapters on 2 bases',
      measured: describe(withAdapters),
      baseline: `full copies ${(withAdapters.fullCopiesBytes / 1e9).toFixed(3)} GB`,
      ratio:
        `saved ${(withAdapters.savedBytes / 1e9).toFixed(3)} GB ` +
        `(${Math.round((100 * withAdapters.savedBytes) / withAdapters.fullCopiesBytes)} %)`,
      goal: 'report',
      met: '—',
    })
    await s2.close()
  }

  // 8. memory: recall latency on Chroma at 1k and 10k memories; what injection adds before the first token
  if (want('memory')) {
    const m = await memoryBench()
    for (const l of m.latency) {
      rows.push({
        benchmark: `memory recall at ${l.size / 1000}k memories`,
        measured: `p50 ${fmt(l.p50)}, p95 ${fmt(l.p95)}`,
        baseline: `store ${fmt(l.storeP50)}, embed ${fmt(l.embedP50)}, rank ${fmt(l.rankP50)}`,
        ratio: '—',
        goal: l.size >= 10_000 ? '≤ 25 ms p50' : 'report',
        met: l.size >= 10_000 ? (l.p50 <= 25 ? 'yes' : 'no') : '—',
      })
    }
    for (const l of m.useLatency) {
      rows.push({
        benchmark: `memory recall, sentence encoder + words, warm, ${l.size / 1000}k`,
        measured: `p50 ${fmt(l.p50)}, p95 ${fmt(l.p95)}`,
        baseline:
          `embed ${fmt(l.embedP50)}, words ${fmt(l.wordsP50)} (beside it), ` +
          `store ${fmt(l.storeP50)}, rank ${fmt(l.rankP50)}`,
        ratio: '—',
        goal: l.size >= 10_000 ? '≤ 40 ms p50' : 'report',
        met: l.size >= 10_000 ? (l.p50 <= 40 ? 'yes' : 'no') : '—',
      })
    }
    for (const l of m.useNoWordsLatency) {
      rows.push({
        benchmark: `memory recall, sentence encoder, no words, warm, ${l.size / 1000}k`,
        measured: `p50 ${fmt(l.p50)}, p95 ${fmt(l.p95)}`,
        baseline: `embed ${fmt(l.embedP50)}, store ${fmt(l.storeP50)}, rank ${fmt(l.rankP50)}`,
        ratio: '—',
        goal: 'report',
        met: '—',
      })
    }
    rows.push({
      benchmark: `memory service recall over its socket, warm, ${m.served.size / 1000}k`,
      measured: `p50 ${fmt(m.served.p50)}, p95 ${fmt(m.served.p95)}`,
      baseline: "what a run waits for: the line there and back, the service's recall with its words",
      ratio: '—',
      goal: '≤ 40 ms p50',
      met: m.served.p50 <= 40 ? 'yes' : 'no',
    })
    rows.push({
      benchmark: 'memory service, sentence encoder, cold',
      measured: fmt(m.useColdMs),
      baseline: 'its first answer: loads TensorFlow.js and the model',
      ratio: '—',
      goal: 'report',
      met: '—',
    })
    rows.push({
      benchmark: 'memory injection before first token (10k)',
      measured: fmt(m.firstTokenWith),
      baseline: `no memory: ${fmt(m.firstTokenWithout)}`,
      ratio: `+${fmt(m.firstTokenWith - m.firstTokenWithout)}`,
      goal: 'report',
      met: '—',
    })
  }

  // 9. tool call latency: warm sandbox pool, cold, and node:vm in the same process
  if (want('tools')) {
    const t = await benchToolLatency()
    rows.push({
      benchmark: 'tool call (calculate), warm pool',
      measured: `p50 ${fmt(t.warmP50)}, p95 ${fmt(t.warmP95)}`,
      baseline: `node:vm p50 ${fmt(t.nodeVmP50)}, p95 ${fmt(t.nodeVmP95)}`,
      ratio: `${(t.warmP50 / t.nodeVmP50).toFixed(1)}×`,
      goal: 'warm p50 ≤ 5 ms',
      met: t.warmP50 <= 5 ? 'yes' : 'no',
    })
    rows.push({
      benchmark: 'tool call (calculate), cold pool',
      measured: `p50 ${fmt(t.coldP50)}, p95 ${fmt(t.coldP95)}`,
      baseline: '—',
      ratio: '—',
      goal: 'report',
      met: '—',
    })
  }

  // 10. the learner: the simulated user after a week (50 ratings), and rewrite latency per rating
  if (want('learner')) {
    const sim = simulateUser({ seeds: 100, warmup: 50, evaluate: 100, explore: 0.25 })
    const plain = simulateUser({ seeds: 100, warmup: 50, evaluate: 100, explore: 1 })
    const later = simulateUser({ seeds: 100, warmup: 150, evaluate: 100, explore: 0.25 })
    rows.push({
      benchmark: 'learner: best chain after 50 ratings',
      measured: `${(100 * sim.share).toFixed(1)} % (explore 0.25)`,
      baseline:
        `plain Thompson ${(100 * plain.share).toFixed(1)} %; ` + `exact optimum ${(100 * optimalShare()).toFixed(1)} %`,
      ratio: `after 150: ${(100 * later.share).toFixed(1)} %`,
      goal: '≥ 90 % (plan: 85 %)',
      met: sim.share >= 0.9 ? 'yes' : 'no',
    })
    const rw = await benchRewrite(100)
    rows.push({
      benchmark: 'learner: weight rewrite per rating',
      measured: `p50 ${fmt(rw.p50)}, p95 ${fmt(rw.p95)}`,
      baseline: '—',
      ratio: '—',
      goal: '≤ 20 ms',
      met: rw.p50 <= 20 ? 'yes' : 'no',
    })
  }

  // 11. energy: a simulated day of 200 queries under each shipped profile
  if (want('energy')) rows.push(...(await energyRows()))

  // 13. documents: indexing throughput, a sync with nothing changed, search at 10,000 passages
  if (want('docs')) {
    const d = await docsBench()
    for (const i of d.indexing) {
      rows.push({
        benchmark: `docs add: indexing (${i.embedder})`,
        measured:
          i.mbPerSecond >= 0.1 ? `${i.mbPerSecond.toFixed(2)} MB/s` : `${(i.mbPerSecond * 1000).toFixed(1)} KB/s`,
        baseline:
          `${i.files} files, ${i.chunks} passages (${fmt(i.ms / i.chunks)} each), ` +
          `${(i.bytes / 1e6).toFixed(1)} MB in ${(i.ms / 1000).toFixed(1)} s`,
        ratio: '—',
        goal: 'report',
        met: '—',
      })
    }
    rows.push({
      benchmark: 'docs sync, nothing changed (1,000 files)',
      measured: fmt(d.resyncMs),
      baseline: '—',
      ratio: '—',
      goal: 'report',
      met: '—',
    })
    rows.push({
      benchmark: `docs search at ${(d.search.chunks / 1000).toFixed(1)}k passages`,
      measured: `p50 ${fmt(d.search.p50)}, p95 ${fmt(d.search.p95)}`,
      baseline: `${d.search.queries} queries, hashing embedder`,
      ratio: '—',
      goal: 'report',
      met: '—',
    })
  }

  // 14. checks: tools check on the shipped tools, the analyzer on a 5 MB package, RE2 on a backtracking pattern
  if (want('checks')) {
    const c = await benchChecks(ROOT, BIN, Math.min(RUNS, 7))
    rows.push({
      benchmark: `tools check, shipped tools (${c.cli.tools}), whole process`,
      measured: fmt(c.cli.checkP50),
      baseline: `tools ls: ${fmt(c.cli.lsP50)}`,
      ratio: `+${fmt(c.cli.checkP50 - c.cli.lsP50)}`,
      goal: 'report',
      met: '—',
    })
    const mb = c.pkg.bytes / 1024 / 1024
    rows.push({
      benchmark: `static analysis, ${mb.toFixed(1)} MB package (${c.pkg.files} files)`,
      measured: `${fmt(c.pkg.analyzeP50)} (${(mb / (c.pkg.analyzeP50 / 1000)).toFixed(1)} MB/s)`,
      baseline: `acorn parse alone: ${fmt(c.pkg.parseP50)}`,
      ratio: `${(c.pkg.analyzeP50 / c.pkg.parseP50).toFixed(1)}×`,
      goal: 'report (plugins check on 5 MB)',
      met: '—',
    })
    rows.push({
      benchmark: 'tool argument check, pattern ^(a+)+$ (RE2)',
      measured: `28 chars + "!": ${fmt(c.redos.re2At28)}; 10,000: ${fmt(c.redos.re2At10k)}`,
      baseline: `JS RegExp, 24 chars + "!": ${fmt(c.redos.jsAt24)}`,
      ratio: `${(c.redos.jsAt24 / c.redos.re2At28).toFixed(0)}×`,
      goal: '28 chars ≤ 10 ms (was 9 s)',
      met: c.redos.re2At28 <= 10 ? 'yes' : 'no',
    })
  }

  // 15. model files: header + tensor table, sha256 of a 200 MB pinned GGUF, the same with its hash cached
  if (want('model-files')) {
    const v = await benchModelVerify(gguf, Math.min(RUNS, 7))
    rows.push({
      benchmark: `model file check: header + tensor table (${v.header.tensors} tensors)`,
      measured: fmt(v.header.p50),
      baseline: `node-llama-cpp readGgufFileInfo: ${fmt(v.header.llamaCppReaderP50)}`,
      ratio: `${(v.header.p50 / v.header.llamaCppReaderP50).toFixed(2)}×`,
      goal: 'report',
      met: '—',
    })
    rows.push({
      benchmark: `model file check: sha256 pin, ${v.sha.mb.toFixed(0)} MB, uncached`,
      measured: `${fmt(v.sha.uncachedP50)} (${v.sha.mbPerS.toFixed(0)} MB/s)`,
      baseline: `${v.sha.baseline}: ${v.sha.baselineMbPerS.toFixed(0)} MB/s`,
      ratio: `${(v.sha.mbPerS / v.sha.baselineMbPerS).toFixed(2)}×`,
      goal: 'report',
      met: '—',
    })
    rows.push({
      benchmark: `model file check: sha256 pin, ${v.sha.mb.toFixed(0)} MB, hash cached`,
      measured: fmt(v.cached.p50),
      baseline: `uncached: ${fmt(v.sha.uncachedP50)}`,
      ratio: `${(v.sha.uncachedP50 / v.cached.p50).toFixed(0)}× faster`,
      goal: 'report',
      met: '—',
    })
  }

  // 16. plugin-check: `plugins check` on the example plugin and on a 5 MB package
  if (want('plugin-check')) {
    const c = await benchPluginCheck(ROOT, BIN, Math.min(RUNS, 7))
    rows.push({
      benchmark: 'plugins check, examples/plugins/today, whole process',
      measured: fmt(c.todayP50),
      baseline: `plugins ls: ${fmt(c.lsP50)}`,
      ratio: `+${fmt(c.todayP50 - c.lsP50)}`,
      goal: 'report',
      met: '—',
    })
    rows.push({
      benchmark: `plugins check, ${c.pkg.mb.toFixed(1)} MB package (${c.pkg.files} files), whole process`,
      measured: `${fmt(c.pkg.checkP50)} (${(c.pkg.mb / (c.pkg.checkP50 / 1000)).toFixed(1)} MB/s)`,
      baseline: `analyzer alone, fresh process: ${fmt(c.pkg.analyzeP50)}`,
      ratio: `+${fmt(c.pkg.checkP50 - c.pkg.analyzeP50)}`,
      goal: 'report',
      met: '—',
    })
  }
  // 17. sandboxed plugins: a proxied tap, first token with two warm hosts, a host's cold start
  if (want('plugins')) {
    // the spine's server is closed by now: one of its own
    const ollama = await startOllamaTestServer({ models: [{ name: 'quick:1b', reply: () => words(40) }] })
    const p = await benchPlugins(ROOT, ollama.url, RUNS)
    await ollama.close()
    const added = p.tap.sandboxedP50 - p.tap.inProcessP50
    rows.push({
      benchmark: 'plugin tap p50: sandboxed (IPC) vs in process',
      measured: fmt(p.tap.sandboxedP50),
      baseline: `in process: ${fmt(p.tap.inProcessP50)}`,
      ratio: `+${fmt(added)}`,
      goal: '≤ 1 ms added',
      met: added <= 1 ? 'yes' : 'no',
    })
    const delay = p.firstToken.twoP50 - p.firstToken.noneP50
    rows.push({
      benchmark: 'first token, two warm sandboxed plugins',
      measured: fmt(p.firstToken.twoP50),
      baseline: `no plugin: ${fmt(p.firstToken.noneP50)}`,
      ratio: `${delay >= 0 ? '+' : ''}${fmt(delay)}`,
      goal: '≤ 50 ms added',
      met: delay <= 50 ? 'yes' : 'no',
    })
    rows.push({
      benchmark: 'plugin host cold start (to applied)',
      measured: `namespace: ${fmt(p.cold.namespaceP50)}`,
      baseline: `JS barrier alone: ${fmt(p.cold.jsOnlyP50)}`,
      ratio: `${p.cold.namespaceP50 >= p.cold.jsOnlyP50 ? '+' : ''}${fmt(p.cold.namespaceP50 - p.cold.jsOnlyP50)}`,
      goal: 'report',
      met: '—',
    })
  }
  // 18. serve: a chain streamed through /v1/chat/completions against the same chain in process
  if (want('serve')) {
    const ollama = await startOllamaTestServer({ models: [{ ...SERVE_MODEL, reply: () => words(400) }] })
    const s = await benchServe(ollama.url, RUNS)
    await ollama.close()
    const ratio = s.tps.serveP50 / s.tps.engineP50
    rows.push({
      benchmark: 'serve: tokens/s streamed (SSE, 2 ms/token)',
      measured: `${s.tps.serveP50.toFixed(0)} tok/s`,
      baseline: `engine in process: ${s.tps.engineP50.toFixed(0)} tok/s`,
      ratio: `${ratio.toFixed(2)}×`,
      goal: '≥ 0.95×',
      met: ratio >= 0.95 ? 'yes' : 'no',
    })
    const added = s.firstToken.serveP50 - s.firstToken.engineP50
    rows.push({
      benchmark: 'serve: first content chunk, warm server',
      measured: fmt(s.firstToken.serveP50),
      baseline: `engine in process: ${fmt(s.firstToken.engineP50)}`,
      ratio: `${added >= 0 ? '+' : ''}${fmt(added)}`,
      goal: '≤ 5 ms added',
      met: added <= 5 ? 'yes' : 'no',
    })
    rows.push({
      benchmark: `serve: ${s.concurrent.streams} concurrent streams`,
      measured: `${s.concurrent.aggregateTps.toFixed(0)} tok/s in all`,
      baseline: `p50 first token: ${fmt(s.concurrent.firstTokenP50)}`,
      ratio: '—',
      goal: 'report',
      met: '—',
    })
  }
  // 21. pull: the embedded model's download on loopback, and how fast a closed Ollama is noticed
  if (want('pull')) {
    const b = await benchPull(RUNS)
    const ratio = b.downloadMbPerS / b.fetchMbPerS
    rows.push({
      benchmark: `pull: ${b.mb} MB from the hub double (302, sha256, fsync)`,
      measured: `${b.downloadMbPerS.toFixed(0)} MB/s`,
      baseline: `fetch into nothing: ${b.fetchMbPerS.toFixed(0)} MB/s`,
      ratio: `${ratio.toFixed(2)}×`,
      goal: 'report',
      met: '—',
    })
    rows.push({
      benchmark: 'fallback: Ollama not answering noticed (closed port)',
      measured: fmt(b.refusedMsP50),
      baseline: `Ollama answering: ${fmt(b.answeredMsP50)}`,
      ratio: `${(b.refusedMsP50 / b.answeredMsP50).toFixed(2)}×`,
      goal: 'report',
      met: '—',
    })
  }

  // 19. chat: a line typed to a running chat → first token, against `chain run` → first token
  if (want('chat')) {
    const ollama = await startOllamaTestServer({ models: [{ name: 'quick:1b', reply: () => words(40) }] })
    const c = project({
      'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "quick:1b" }\n',
      'chains/single.yaml': 'stages:\n  s: { model: quick, prompt: "{{memory}}\\n{{query}}" }\n',
    })
    const chatEnv = {
      ...env,
      MIRADOR_HOME: path.join(c, 'home'),
      OLLAMA_HOST: ollama.url,
      MIRADOR_CHROMA_IDLE_MS: '120000',
    }
    for (const memory of ['off', 'on'] as const) {
      const r = await benchChat({ dir: c, env: { ...chatEnv, MIRADOR_MEMORY: memory }, chain: 'single', runs: RUNS })
      const ratio = r.chatTurn / r.chainRun
      rows.push({
        benchmark: `chat: keystroke → first token (memory ${memory})`,
        measured: `${fmt(r.chatTurn)} (in-run t ${fmt(r.inRun)}; ${r.turns} turns)`,
        baseline: `chain run: ${fmt(r.chainRun)}`,
        ratio: `${ratio.toFixed(2)}×`,
        goal: '≤ 1.1×',
        met: ratio <= 1.1 ? 'yes' : 'no',
      })
    }
    await timeChild(process.execPath, [BIN, 'memory', 'stop'], { cwd: c, env: chatEnv })
    await ollama.close()
  }

  // 20. mcp: a sandboxed tool called through MCP against the same call in process
  if (want('mcp')) {
    const m = await benchMcp(ROOT, Math.max(RUNS, 5) * 5)
    rows.push({
      benchmark: `mcp: calculate through MCP (mirador mcp), median of ${m.runs}`,
      measured: fmt(m.mcpP50),
      baseline: `in process (warm sandbox): ${fmt(m.inProcessP50)}`,
      ratio: `${(m.mcpP50 / m.inProcessP50).toFixed(2)}× (+${fmt(m.mcpP50 - m.inProcessP50)})`,
      goal: 'report',
      met: '—',
    })
    rows.push({
      benchmark: 'mcp: a call on a fixture server (MCP alone)',
      measured: fmt(m.echoP50),
      baseline: `mirador mcp start to tool list: ${fmt(m.startMs)}`,
      ratio: '—',
      goal: 'report',
      met: '—',
    })
  }

  // 22. federation exchanges: 50 members put a ~2 KB file each at once; one syncs, lists and gets them all
  if (want('federation-exchange')) {
    for (const b of await benchExchanges(50)) {
      rows.push({
        benchmark: `federation exchange (${b.kind}): ${b.members} members put 2 KB each, at once`,
        measured: fmt(b.putAllMs),
        baseline: `one after another: ${fmt(b.putEachMs)} a put; one syncs, lists, gets all: ${fmt(b.readAllMs)}`,
        ratio: '—',
        goal: 'report',
        met: '—',
      })
    }
  }

  // 23. federation secure aggregation: 50 members, 20 values, 5 dropped after committing
  if (want('federation-secagg')) {
    const r = benchSecagg(50, 20, 5)
    const b = r.bytes
    rows.push({
      benchmark: `federation secure aggregation: ${r.members} members, ${r.dropped} dropped, ${r.length} values`,
      measured: `aggregate ${fmt(r.ms.aggregate)}`,
      baseline:
        `all members: commit ${fmt(r.ms.commit)}, mask ${fmt(r.ms.mask)}, reveal ${fmt(r.ms.reveal)}; ` +
        `files ${b.commit} / ${b.masked} / ${b.reveal} B`,
      ratio: '—',
      goal: '≤ 10 s aggregation',
      met: r.ms.aggregate <= 10_000 ? 'yes' : 'no',
    })
  }

  // 25. federation round: 50 members through the library on a folder exchange, 5 dropped after committing
  if (want('federation-round')) {
    const r = await benchRound(50, 5)
    const b = r.bytes
    rows.push({
      benchmark: `federation round: ${r.members} members (t ${r.threshold}), ${r.dropped} dropped, folder exchange`,
      measured: `aggregation ${fmt(r.ms.aggregate)}`,
      baseline:
        `all members: commit ${fmt(r.ms.commit)}, mask ${fmt(r.ms.mask)}, close ${fmt(r.ms.close)}, ` +
        `reveal + open ${fmt(r.ms.reveal)}; verify ${fmt(r.ms.verify)}; ` +
        `files commit ${b.commit} / bundle ${b.bundle} / reveal ${b.reveal} / result ${b.result} B`,
      ratio: '—',
      goal: '≤ 10 s aggregation',
      met: r.ms.aggregate <= 10_000 ? 'yes' : 'no',
    })
  }

  // 24. federation prior: 50 members' week of ratings, noised and summed; a new member's first 100 queries
  if (want('federation-prior')) {
    // the 50 members, and 200 (where the prior starts to pay at ε 1: docs/federation.md);
    // R: the prior of the newest round alone, and the average of a default budget's window (4 rounds)
    const rounds = [1, 4]
    const big = benchPrior({ reps: 200, members: 200, settings: [{ epsilon: 1, noise: 'distributed' }], rounds })
    for (const r of [...benchPrior({ reps: 200, rounds }), ...big]) {
      const gain = median(r.diff)
      const goal = r.epsilon === 1 && r.members === 50
      rows.push({
        benchmark:
          `federation prior: new member, best-chain share, ${r.members} members, ε ${r.epsilon}, ${r.noise}` +
          (r.noise === 'distributed' ? ` (k = t = ${r.shares})` : '') +
          (r.rounds > 1 ? `, ${r.rounds} rounds averaged` : ', 1 round'),
        measured: `with ${sharePct(r.with)}, without ${sharePct(r.without)}`,
        baseline: `${priorPrivacyCost(r)}; noise sd ${r.sd.toFixed(0)} a slot; w ${r.w}, 200 runs`,
        ratio: `${points(r.diff)} points`,
        goal: goal ? '≥ 20 points' : 'report',
        met: goal ? (gain >= 20 ? 'yes' : 'no') : '—',
      })
    }
  }

  console.log(
    `\nMirador benchmarks (${os.cpus().length} cores, Node ${process.version}, ` +
      `medians of ${RUNS} runs where timed from a process)\n`,
  )
  printTable(rows)

  // 12. recall quality on the two labelled sets, per kind of question
  if (want('recall')) {
    console.log('\nMemory recall quality (bench/data/memory-recall.json, bench/data/memory-recall-dialogue.json)\n')
    printRecallRows(await runRecallBenchmark({ gguf }))
  }
}

// every temporary file of a bench run (projects, homes, stores) goes under one folder, removed at the
// end as a test run's is; sections and the processes they start read TMPDIR through os.tmpdir()
const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-run-'))
process.env.TMPDIR = tmpRoot
try {
  await main()
} finally {
  rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3 })
}
