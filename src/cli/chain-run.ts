/**
 * `mirador chain run`: shared by the oclif command and the fast path. The acknowledgment is
 * printed after nothing more than finding the chain file, before YAML, the engine or any runtime
 * is loaded, so the user sees an answer at once.
 */
import { MiradorError } from '../engine/errors.js'
import type { RunEvent } from '../engine/events.js'
import { newRunId } from '../engine/run-id.js'
import { findChainFile } from './chain-files.js'
import { outputClosedSignal } from './closed-output.js'
import { chainDirs, miradorHome } from './paths.js'
import { finalRenderer } from './render/final.js'
import { jsonRenderer } from './render/json.js'
import { liveRenderer } from './render/live.js'
import { plainRenderer } from './render/plain.js'
import { safeText } from './render/format.js'
import type { Out, Renderer } from './render/renderer.js'

export interface ChainRunInput {
  chain: string
  query?: string
  json?: boolean
  stream?: boolean
  offline?: boolean
  host?: string
  config?: string
  debug?: boolean
  session?: string
  memory?: boolean
  'show-memory'?: boolean
  /** with chain `auto`: say why the chain was chosen */
  explain?: boolean
  /** ask for a rating at the end (interactive runs) */
  rate?: boolean
  /** pin an energy profile */
  profile?: string
  /** print each stage's filled prompt */
  'show-prompt'?: boolean
}

export interface ChainRunIO {
  stdout: Out & { isTTY?: boolean }
  stderr: Out
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
  cwd: string
  /** performance.now() when the process began to handle the command */
  startedAt: number
}

function pickRenderer(input: ChainRunInput, io: ChainRunIO): Renderer {
  if (input.json) return jsonRenderer(io.stdout)
  const options = { debug: input.debug === true }
  if (input.stream === false) return finalRenderer(io.stdout, io.stderr, options)
  return io.stdout.isTTY ? liveRenderer(io.stdout, io.stderr, options) : plainRenderer(io.stdout, io.stderr, options)
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stdin) text += String(chunk)
  return text.trim()
}

/** Reports an error that stopped the run before or outside the engine. */
function reportFatal(
  err: unknown,
  input: ChainRunInput,
  io: ChainRunIO,
  renderer: Renderer | undefined,
  runId: string,
  startedAt: number,
): void {
  const e = MiradorError.from(err)
  if (input.json) {
    // the stream always ends with `done`, so a consumer can wait for it
    const t = Math.round(performance.now() - startedAt)
    io.stdout.write(JSON.stringify({ type: 'error', runId, t, code: e.code, message: e.format() }) + '\n')
    io.stdout.write(
      JSON.stringify({
        type: 'done',
        runId,
        t,
        answer: '',
        stage: null,
        confidence: 0,
        models: [],
        tokens: 0,
        ms: t,
        ok: false,
      }) + '\n',
    )
  } else {
    renderer?.close()
    io.stderr.write(`✗ ${e.code}: ${safeText(e.format())}\n`)
  }
  if (input.debug && err instanceof Error && err.stack) io.stderr.write(err.stack + '\n')
}

/** `--rate`: one question at the end of an interactive run; Enter skips it. */
async function askRating(engine: import('../engine/engine.js').Engine, runId: string, io: ChainRunIO): Promise<void> {
  const { createInterface } = await import('node:readline/promises')
  const rl = createInterface({ input: io.stdin, output: process.stderr })
  try {
    const answer = (await rl.question('Rate this answer 1–5 (Enter to skip): ')).trim()
    if (!answer) return
    const rating = Number(answer)
    await engine.hooks.feedback.promise({ runId, rating })
    io.stderr.write(`✓ rated ${runId} ${rating}\n`)
  } catch (err) {
    io.stderr.write(`✗ ${safeText(MiradorError.from(err).message)}\n`)
  } finally {
    rl.close()
  }
}

export async function runChainCommand(input: ChainRunInput, io: ChainRunIO): Promise<number> {
  const runId = newRunId()
  const home = miradorHome(io.env)
  // a reader that goes away (`| head`) ends the run as Ctrl-C does
  const closed = outputClosedSignal(io.stdout, new MiradorError('ABORTED', 'the output was closed'))
  let renderer: Renderer | undefined
  try {
    let query = input.query
    if (query === undefined || query === '-') {
      if (io.stdin.isTTY)
        throw new MiradorError(
          'USAGE',
          'no query given: pass it after the chain name (mirador chain run CHAIN "QUERY") or on standard input',
        )
      query = await readStdin(io.stdin)
    }
    if (!query.trim()) throw new MiradorError('USAGE', 'the query is empty: say what to ask')
    // `auto` (mirador ask): the learner picks the chain once the engine is up
    const auto = input.chain === 'auto'
    let chainFile = auto ? '' : findChainFile(input.chain, chainDirs(io.cwd, home), io.cwd)
    renderer = pickRenderer(input, io)
    const chainName = input.chain.replace(/^.*\//, '').replace(/\.ya?ml$/, '')
    renderer.event({ type: 'ack', runId, chain: chainName, t: Math.round(performance.now() - io.startedAt) })

    const [{ setup }, { loadChain }] = await Promise.all([import('./setup.js'), import('./chain-load.js')])
    const s = await setup({
      cwd: io.cwd,
      env: io.env,
      ...(input.config ? { config: input.config } : {}),
      ...(input.offline ? { offline: true } : {}),
      ...(input.host ? { host: input.host } : {}),
      ...(input.memory === false ? { memory: false } : {}),
      ...(input['show-memory'] ? { showMemory: true } : {}),
      ...(input.profile ? { profile: input.profile } : {}),
    })
    // an unknown profile name fails before the run, not as a plugin error inside it
    await s.energy?.checkPin()
    if (auto) {
      if (!s.learner)
        throw new MiradorError(
          'USAGE',
          'choosing a chain needs the learner, which is turned off (builtins: { learner: false })',
        )
      // an energy profile may want the best expected rating per joule
      const costOf = await s.energy?.qualityPerJoule()
      const route = await s.learner.route(query, runId, undefined, costOf)
      chainFile = route.chain.file
      renderer.event({
        type: 'route',
        runId,
        t: Math.round(performance.now() - io.startedAt),
        chain: route.chain.name,
        queryType: route.type,
        via: route.via,
        reason: route.reason,
        candidates: route.candidates,
        explain: input.explain === true,
      } as RunEvent)
    }
    const engine = s.engine
    const chain = await loadChain(chainFile, engine.stageKeys())
    const r = renderer
    // once the reader has gone, nothing more is said: not even that the run stopped
    engine.hooks.event.tap('Renderer', (e: RunEvent) => closed.aborted || r.event(e))

    const controller = new AbortController()
    let interrupts = 0
    const onSigint = () => {
      interrupts++
      if (interrupts > 1) process.exit(130)
      controller.abort(new MiradorError('ABORTED', 'interrupted'))
    }
    process.on('SIGINT', onSigint)
    try {
      const result = await engine.run({
        chain,
        query,
        runId,
        startedAt: io.startedAt,
        ack: false,
        signal: AbortSignal.any([controller.signal, closed]),
        ...(input.session ? { session: input.session } : {}),
        ...(input['show-prompt'] ? { showPrompt: true } : {}),
      })
      renderer.close()
      if (input.rate && result.ok && io.stdin.isTTY && !input.json) await askRating(engine, runId, io)
      if (controller.signal.aborted || closed.aborted) return 130
      return result.ok ? 0 : 1
    } finally {
      process.off('SIGINT', onSigint)
    }
  } catch (err) {
    reportFatal(err, input, io, renderer, runId, io.startedAt)
    return 1
  }
}
