/**
 * `mirador chain run`: shared by the oclif command and the fast path. The acknowledgment is
 * printed after nothing more than finding the chain file, before YAML, the engine or any runtime
 * is loaded, so the user sees an answer at once.
 */
import { MiradorError } from '../engine/errors.js'
import { chainDisplayName } from '../engine/chain-name.js'
import type { Engine } from '../engine/engine.js'
import type { AckEvent, RunEvent } from '../engine/events.js'
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
import { runSetupOptions } from './run-setup-options.js'

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

export function pickRenderer(input: ChainRunInput, io: ChainRunIO): Renderer {
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

/** `--rate`: one question at the end of an interactive run; Enter skips it. */
async function askRating(engine: Engine, runId: string, io: ChainRunIO): Promise<void> {
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

/**
 * The renderer draws what the engine's `event` hook delivers; the `ack` it already drew passes by.
 * Once the reader has gone (`| head`), nothing more is said: not even that the run stopped.
 */
function attach(engine: Engine, renderer: Renderer, shown: RunEvent | undefined, closed?: AbortSignal): void {
  engine.hooks.event.tap('Renderer', (e: RunEvent) => {
    if (e !== shown && !closed?.aborted) renderer.event(e)
  })
}

/** This process's streams, environment and folder, as a run started from the command line sees them. */
export function processIO(startedAt = performance.now()): ChainRunIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    startedAt,
  }
}

export async function runChainCommand(input: ChainRunInput, io: ChainRunIO): Promise<number> {
  const runId = newRunId()
  const home = miradorHome(io.env)
  // a reader that goes away (`| head`) ends the run as Ctrl-C does
  const closed = outputClosedSignal(io.stdout, new MiradorError('ABORTED', 'the output was closed'))
  let renderer: Renderer | undefined
  let engine: Engine | undefined
  let ack: AckEvent | undefined
  let query = input.query
  try {
    if (query === undefined || query === '-') {
      if (io.stdin.isTTY) {
        throw new MiradorError(
          'USAGE',
          'no query given: pass it after the chain name (mirador chain run CHAIN "QUERY") or on standard input',
        )
      }
      query = await readStdin(io.stdin)
    }
    if (!query.trim()) throw new MiradorError('USAGE', 'the query is empty: say what to ask')
    // a chain named is found now, before anything loads, so a typo fails at once;
    // `auto` (mirador ask) is answered by the route hook once the engine is up
    const chain = input.chain === 'auto' ? 'auto' : findChainFile(input.chain, chainDirs(io.cwd, home), io.cwd)
    renderer = pickRenderer(input, io)
    ack = { type: 'ack', runId, chain: chainDisplayName(input.chain), t: Math.round(performance.now() - io.startedAt) }
    renderer.event(ack)

    const { setup } = await import('./setup.js')
    const s = await setup(runSetupOptions(input, io))
    // an unknown profile name fails before the run, not as a plugin error inside it
    await s.energy?.checkPin()
    engine = s.engine
    attach(engine, renderer, ack, closed)

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
        ack,
        startedAt: io.startedAt,
        signal: AbortSignal.any([controller.signal, closed]),
        ...(input.session ? { session: input.session } : {}),
        ...(input['show-prompt'] ? { showPrompt: true } : {}),
      })
      renderer.close()
      if (input.rate && result.ok && io.stdin.isTTY && !input.json) await askRating(engine, runId, io)
      if (!result.ok && !input.json && s.models?.wantedDownload()) {
        const { offerPull } = await import('./offer-pull.js')
        await offerPull(s.models, engine.settings, { stdin: io.stdin, stderr: process.stderr })
      }
      if (controller.signal.aborted || closed.aborted) return 130
      return result.ok ? 0 : 1
    } finally {
      process.off('SIGINT', onSigint)
    }
  } catch (err) {
    await reportFailure(err, { input, io, runId, query: query ?? '', renderer, engine, ack, closed })
    return 1
  } finally {
    // sandboxed plugins' host processes and runtimes' handles end with the command; the answer is
    // out already, so a runtime that fails to close is no reason to fail the command
    await engine?.dispose().catch(() => {})
  }
}

/**
 * A run that could not start (no query, no such chain, a broken config): its error and `done` go
 * through an engine's `event` hook like every other run's, the real one if it was made, else one
 * with no plugins, so `--json` consumers still get a stream that ends with `done`.
 */
async function reportFailure(
  err: unknown,
  at: {
    input: ChainRunInput
    io: ChainRunIO
    runId: string
    query: string
    renderer: Renderer | undefined
    engine: Engine | undefined
    ack: AckEvent | undefined
    closed: AbortSignal
  },
): Promise<void> {
  const { input, io } = at
  const renderer = at.renderer ?? pickRenderer(input, io)
  let engine = at.engine
  if (!engine) {
    const { Engine } = await import('../engine/engine.js')
    engine = new Engine({
      cwd: io.cwd,
      home: miradorHome(io.env),
      offline: true,
      memory: false,
      config: {},
      env: io.env,
    })
    attach(engine, renderer, at.ack, at.closed)
  }
  const t = Math.round(performance.now() - io.startedAt)
  const ack = at.ack ?? { type: 'ack', runId: at.runId, chain: chainDisplayName(input.chain), t }
  await engine.run({ chain: () => Promise.reject(err), query: at.query, startedAt: io.startedAt, ack })
  renderer.close()
  if (input.debug && err instanceof Error && err.stack) io.stderr.write(err.stack + '\n')
}
