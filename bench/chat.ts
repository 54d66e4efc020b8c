/**
 * `mirador chat`'s number for `npm run bench` (section `chat`): keystroke to first token, against
 * `chain run`'s, on the same chain and the same Ollama test server (answering at once).
 *
 * - chat: one `mirador chat CHAIN --json` process, lines written to its standard input once it is
 *   ready (its banner); each turn is timed from the write of the line (the Enter key) to the first
 *   `token` event on stdout. The first turn is not counted (the runtime's first request, the model's
 *   check), as a user's first `chain run` of the day would not be either.
 * - chain run: what a user waits after pressing Enter on `mirador chain run CHAIN QUERY --json`,
 *   from the spawn to the first `token` event (bench/first-token.ts's measure).
 *
 * The chat pays Node's start and Mirador's set-up once, so its turns should be much faster; the
 * goal is that they are never slower (≤ 1.1×). The in-run `t` of the first token (from the line
 * read to the token) is given too: what the engine takes once the line is in.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { timeToLine } from './first-token.js'
import { median } from './lib.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')

export interface ChatBench {
  /** medians, ms */
  chatTurn: number
  chainRun: number
  /** the first token's `t` in the chat's turns (from the line read) */
  inRun: number
  turns: number
}

interface Pending {
  t0: number
  first: number
  resolve: (r: { ms: number; t: number }) => void
  reject: (err: Error) => void
}

/** Times `turns` + 1 lines through one chat process; returns the timed ones (the first is warm-up). */
async function chatTurns(opts: { dir: string; env: NodeJS.ProcessEnv; chain: string; turns: number }) {
  const child = spawn(process.execPath, [BIN, 'chat', opts.chain, '--json'], {
    cwd: opts.dir,
    env: opts.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let ready: () => void
  const isReady = new Promise<void>((resolve) => (ready = resolve))
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    if (stderr.includes('Chat with')) ready()
  })
  let pending: Pending | undefined
  let buf = ''
  let firstT = -1
  child.stdout.on('data', (d: Buffer) => {
    const now = performance.now()
    buf += d.toString()
    const lines = buf.split('\n')
    buf = lines.pop()!
    for (const line of lines) {
      if (!pending) continue
      const e = JSON.parse(line) as { type: string; t: number; ok?: boolean }
      if (e.type === 'token' && pending.first < 0) {
        pending.first = now - pending.t0
        firstT = e.t
      }
      if (e.type === 'done') {
        const p = pending
        pending = undefined
        if (e.ok) p.resolve({ ms: p.first, t: firstT })
        else p.reject(new Error(`a chat turn failed: ${line}`))
      }
    }
  })
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
  await Promise.race([isReady, closed.then(() => Promise.reject(new Error(`chat exited early: ${stderr}`)))])
  const times: { ms: number; t: number }[] = []
  for (let i = 0; i <= opts.turns; i++) {
    const turn = new Promise<{ ms: number; t: number }>((resolve, reject) => {
      pending = { t0: performance.now(), first: -1, resolve, reject }
    })
    child.stdin.write('hi\n')
    const r = await turn
    if (i > 0) times.push(r)
  }
  child.stdin.end()
  if ((await closed) !== 0) throw new Error(`chat did not end with 0: ${stderr}`)
  return times
}

export async function benchChat(opts: {
  dir: string
  env: NodeJS.ProcessEnv
  chain: string
  runs: number
}): Promise<ChatBench> {
  const turns = await chatTurns({ ...opts, turns: opts.runs })
  const isToken = (l: string) => l.includes('"type":"token"')
  const runs: number[] = []
  // the first run warms the home (config cache, schemas); it is not counted
  for (let i = 0; i <= opts.runs; i++) {
    const args = [BIN, 'chain', 'run', opts.chain, 'hi', '--json']
    const r = await timeToLine(process.execPath, args, isToken, { cwd: opts.dir, env: opts.env })
    if (r.code !== 0) throw new Error(`chain run ${opts.chain} failed (exit ${r.code}): ${r.stdout.slice(0, 2000)}`)
    if (i > 0) runs.push(r.ms)
  }
  return {
    chatTurn: median(turns.map((t) => t.ms)),
    chainRun: median(runs),
    inRun: median(turns.map((t) => t.t)),
    turns: turns.length,
  }
}
