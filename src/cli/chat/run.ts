/**
 * `mirador chat`: sets Mirador up once, then reads a line at a time (a terminal's, with editing
 * and history; or a pipe's, without a prompt) and answers each, a slash command or a question, until
 * Ctrl-D, `/exit` or the end of the input; the engine is disposed on the way out, so nothing it
 * started is left behind. A failing turn or command prints its error and the chat goes on.
 */
import { randomBytes } from 'node:crypto'
import { MiradorError } from '../../engine/errors.js'
import { loadCipher } from '../../lib/crypto.js'
import { validateSessionName } from '../../plugins/memory/sessions.js'
import type { ChainRunIO } from '../chain-run.js'
import { safeText } from '../render/format.js'
import { runSetupOptions } from '../run-setup-options.js'
import { parseSlash, type SlashContext } from './commands.js'
import { Conversation, type ChatInput } from './conversation.js'
import { DEFAULT_CHAIN } from './default-chain.js'
import { noHistory, openHistory, type HistoryStore } from './history.js'
import { pipeReader, terminalReader, type LineReader } from './reader.js'

/** a new session's name: when the chat began, and a little randomness for two begun at once */
export function newSessionName(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13)
  return `chat-${stamp}-${randomBytes(2).toString('hex')}`
}

export async function runChat(input: ChatInput, io: ChainRunIO): Promise<number> {
  // a prompt, line editing and history only where someone types and reads
  const interactive = io.stdin.isTTY === true && io.stdout.isTTY === true && !input.json
  // with --json, stdout carries only events
  const out = input.json ? io.stderr : io.stdout
  const say = (text: string) => void out.write(safeText(text) + '\n')
  const note = (text: string) => void io.stderr.write(safeText(text) + '\n')
  const fail = (err: unknown) => {
    const e = MiradorError.from(err)
    io.stderr.write(`✗ ${e.code}: ${safeText(e.format())}\n`)
    if (input.debug && e.stack) io.stderr.write(e.stack + '\n')
  }

  const { setup } = await import('../setup.js')
  const s = await setup({
    ...runSetupOptions(input, io),
    // memory events carry their text for /memory; the chat shows it only with --show-memory
    flags: { ...input, 'show-memory': true },
  })
  let reader: LineReader | undefined
  let history: HistoryStore = noHistory()
  let code = 0
  const onSigint = () => {
    // a turn handles its own; between turns a pipe's chat ends, a terminal's is in raw mode (readline's)
    if (chat?.busy || interactive) return
    code = 130
    reader?.close()
  }
  let chat: Conversation | undefined
  let offeredPull = false
  process.on('SIGINT', onSigint)
  try {
    await s.energy?.checkPin()
    const memory = s.engine.settings.memory
    const session = memory ? validateSessionName(input.session ?? newSessionName()) : undefined
    chat = new Conversation(s, io, input, session)
    chat.useChain(input.chain ?? s.config.chat?.chain ?? DEFAULT_CHAIN)
    if (memory && interactive) {
      const cipher = await (s.memory?.cipher() ?? loadCipher({ home: s.home, env: io.env }))
      history = await openHistory(s.home, cipher)
      if (history.unreadable)
        note(`! the saved chat history could not be read, so it starts afresh: ${history.unreadable}`)
    }
    note(
      `Chat with ${chat.chain}` +
        (session ? ` · session ${session}` : ' · memory off: nothing is kept') +
        ' · /help lists the commands, Ctrl-D leaves',
    )
    if (!memory && input.session) note(`! --session ${input.session} is not kept with memory off`)

    // interactive: stdin and stdout are this process's terminal
    reader = interactive
      ? terminalReader({ input: io.stdin, output: process.stdout }, history.lines)
      : pipeReader({ input: io.stdin })
    const ctx: SlashContext = { chat, say }
    for (;;) {
      const r = await reader.read(`${chat.chain}> `)
      if ('eof' in r) {
        // Ctrl-D leaves the cursor after the prompt
        if (interactive) io.stdout.write('\n')
        break
      }
      if ('interrupted' in r) {
        say('(Ctrl-D or /exit leaves)')
        continue
      }
      const startedAt = performance.now()
      const line = r.line.trim()
      if (!line) continue
      try {
        const slash = parseSlash(line)
        if (slash && (await slash.command.run(ctx, slash.arg)) === 'exit') break
        if (!slash) await chat.ask(line.startsWith('//') ? line.slice(1) : line, startedAt)
      } catch (err) {
        fail(err)
      }
      // a turn that needed the embedded model while Ollama was away, and found it missing: asked once a chat
      if (interactive && !offeredPull && s.models?.wantedDownload()) {
        offeredPull = true
        const { offerPull } = await import('../offer-pull.js')
        await offerPull(s.models, s.engine.settings, { stdin: io.stdin, stderr: process.stderr }, 'Ask again.')
      }
      // after the answer, not before it: saving is not the user's wait
      if (interactive) await history.save(reader.history()).catch(fail)
    }
    // the line that left (/exit) is history too
    if (interactive) await history.save(reader.history()).catch(fail)
    return code
  } finally {
    process.off('SIGINT', onSigint)
    reader?.close()
    // runtimes' sockets, sandboxed plugins' processes: gone with the chat
    await s.engine.dispose().catch(() => {})
  }
}
