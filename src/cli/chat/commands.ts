/**
 * The chat's slash commands, one table: each says how it is used and what it does (`/help` prints
 * the table), and fails by throwing a MiradorError, which the chat prints as one line and goes on.
 */
import { MiradorError } from '../../engine/errors.js'
import type { RunEvent } from '../../engine/events.js'
import { pluginEventLine } from '../render/lines.js'
import { safeText } from '../render/format.js'
import { rateLine } from '../rate-line.js'
import type { ChatTurn, Conversation } from './conversation.js'
import { saveTranscript } from './transcript.js'

export interface SlashContext {
  chat: Conversation
  /** prints a line of the chat's own (not a model's) */
  say(text: string): void
}

export interface SlashCommand {
  name: string
  usage: string
  summary: string
  /** 'exit' ends the chat */
  run(ctx: SlashContext, arg: string): Promise<'exit' | void>
}

const usage = (message: string) => new MiradorError('USAGE', message)

function lastAnswer(chat: Conversation): ChatTurn {
  const turn = chat.lastAnswered()
  if (!turn) throw usage('there is no answer yet: ask something first')
  return turn
}

/** what memory injected into each stage of a turn; the events carry the text (see Conversation) */
function injectedLines(turn: ChatTurn): string[] {
  return turn.injected.flatMap((e: RunEvent) => {
    const line = pluginEventLine(e)
    return line ? [`[${e.type}] ${line}`] : []
  })
}

export const SLASH_COMMANDS: SlashCommand[] = [
  {
    name: 'rate',
    usage: '/rate 1..5',
    summary: 'Rate the last answer: `mirador ask` learns from it.',
    async run({ chat, say }, arg) {
      const rating = Number(arg)
      if (!/^[1-5]$/.test(arg.trim())) throw usage('give a rating from 1 to 5: /rate 4')
      const turn = lastAnswer(chat)
      const { engine, learner } = chat.setup
      if (!learner) throw usage('the learner is turned off (builtins: { learner: false }): ratings go nowhere')
      await engine.hooks.feedback.promise({ runId: turn.runId, rating })
      const result = learner.lastRateResult(turn.runId)
      say(result ? rateLine(result) : `✓ rated ${turn.runId} ${rating}`)
    },
  },
  {
    name: 'chain',
    usage: '/chain [NAME]',
    summary: 'Answer with chain NAME from now on (auto: Mirador chooses).',
    async run({ chat, say }, arg) {
      const name = arg.trim()
      if (name) {
        chat.useChain(name)
        say(`✓ the next answers come from ${chat.chain}`)
        return
      }
      const names = (await chat.setup.engine.chains()).map((c) => c.name)
      say(`Chain: ${chat.chain}. Chains: ${[...names, 'auto'].join(', ')}`)
    },
  },
  {
    name: 'explain',
    usage: '/explain',
    summary: 'Why the last answer came from its chain and stage.',
    async run({ chat, say }) {
      const turn = lastAnswer(chat)
      if (turn.route) say(pluginEventLine({ ...turn.route, explain: true }) ?? '')
      else
        say(
          `${turn.answeredBy} answered because you named it; \`/chain auto\` lets Mirador choose, ` +
            'and /explain then says why',
        )
      const done = turn.done
      if (done?.stage) say(`the answer is stage ${done.stage}'s, confidence ${Math.round(done.confidence * 100)} %`)
    },
  },
  {
    name: 'memory',
    usage: '/memory',
    summary: 'What memory gave the models for the last answer.',
    async run({ chat, say }) {
      if (!chat.memory) {
        say('Memory is off: nothing is recalled or kept; the earlier turns of this chat come from this process only.')
        return
      }
      const turn = lastAnswer(chat)
      const lines = injectedLines(turn)
      say(lines.length ? lines.join('\n') : 'Nothing was injected into the last answer: no relevant memory yet.')
    },
  },
  {
    name: 'forget',
    usage: '/forget last',
    summary: 'Forget the last question and answer, wherever kept.',
    async run({ chat, say }, arg) {
      if (arg.trim() !== 'last') throw usage('say what to forget: /forget last (the last question and answer)')
      const gone = await chat.forgetLast()
      if (!gone) throw usage('there is nothing to forget yet')
      const what = Object.entries(gone.removed)
        .filter(([, n]) => n > 0)
        .map(([kind, n]) => `${n} ${kind}`)
      const kept = chat.memory ? (what.length ? `: ${what.join(', ')}` : ' (nothing of it was kept)') : ''
      say(`✓ forgot "${safeText(gone.turn.query.slice(0, 60))}"${kept}`)
    },
  },
  {
    name: 'profile',
    usage: '/profile',
    summary: 'The energy profile that applies now, and why.',
    async run({ chat, say }) {
      const energy = chat.setup.energy
      if (!energy) throw usage('energy profiles are turned off (builtins: { energy: false })')
      const { selection } = await energy.current()
      const name = selection.profile?.name
      say(`${name ? `Profile: ${name}` : 'No profile applies: chains run as written'} (${selection.reason})`)
    },
  },
  {
    name: 'save',
    usage: '/save FILE',
    summary: 'Save the chat so far as a Markdown transcript.',
    async run({ chat, say }, arg) {
      const file = arg.trim()
      if (!file) throw usage('say where: /save chat.md')
      if (chat.turns.length === 0) throw usage('there is nothing to save yet: ask something first')
      const where = await saveTranscript(
        file,
        chat.setup.cwd,
        chat.turns,
        chat.session ? { session: chat.session } : {},
      )
      say(`✓ saved ${chat.turns.length} turn(s) to ${where}`)
    },
  },
  {
    name: 'help',
    usage: '/help',
    summary: 'This list.',
    async run({ say }) {
      say(helpText())
    },
  },
  {
    name: 'exit',
    usage: '/exit',
    summary: 'Leave (Ctrl-D too).',
    async run() {
      return 'exit'
    },
  },
]

export function helpText(): string {
  const width = Math.max(...SLASH_COMMANDS.map((c) => c.usage.length))
  return [
    ...SLASH_COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '  Ctrl-C stops an answer; Ctrl-D on an empty line leaves; //text asks "/text".',
  ].join('\n')
}

/** `/name rest` → the command and its argument; undefined when the line is a question. */
export function parseSlash(line: string): { command: SlashCommand; arg: string } | undefined {
  const m = /^\/([a-z]+)(?:\s+([\s\S]*))?$/i.exec(line.trim())
  if (!line.trim().startsWith('/') || line.trim().startsWith('//')) return undefined
  const name = m?.[1]?.toLowerCase()
  const command = SLASH_COMMANDS.find((c) => c.name === name || (name === 'quit' && c.name === 'exit'))
  if (!command) throw usage(`unknown command ${line.trim().split(/\s/)[0]}: /help lists them`)
  return { command, arg: m?.[2] ?? '' }
}
