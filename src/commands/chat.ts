import { Args } from '@oclif/core'
import { processIO } from '../cli/chain-run.js'
import { DEFAULT_CHAIN } from '../cli/chat/default-chain.js'
import { chainRunSpec, type FlagSpec } from '../cli/spec.js'
import { MiradorCommand } from './base.js'
import { toOclifFlags } from './oclif-spec.js'

// the run flags a chat shares with `chain run`, meaning the same for every turn
function pick(...names: string[]): Record<string, FlagSpec> {
  return Object.fromEntries(names.map((n) => [n, chainRunSpec.flags[n]!]))
}

export default class Chat extends MiradorCommand {
  static summary = 'Chat with a chain: each line you type is a question, answered as it streams.'
  static description =
    'An interactive session on CHAIN (default: `chat: { chain: NAME }` in config, else ' +
    `${DEFAULT_CHAIN}; \`auto\` lets Mirador choose each time). Every question is an ordinary run of the chain, ` +
    'drawn live, in one session (--session NAME, or a new one named at the start), so the models see the ' +
    'earlier turns and memory keeps them. Line editing, and history across chats (the up arrow), kept ' +
    'encrypted with the memory key in $MIRADOR_HOME/chat/history; none with memory off.\n' +
    '\n' +
    'Commands: /rate 1..5 (the last answer), /chain NAME, /explain, /memory (what was injected), ' +
    '/forget last, /profile, /save FILE (Markdown), /help, /exit. Ctrl-C cancels the answer being ' +
    'written and keeps the chat; Ctrl-D on an empty line, or /exit, leaves.\n' +
    '\n' +
    'Lines piped on standard input are answered one after another, without a prompt; the chat ends ' +
    'with the input, exit status 0. See docs/chat.md.'
  static examples = [
    '<%= config.bin %> chat',
    '<%= config.bin %> chat single --session planning',
    '<%= config.bin %> chat auto --no-memory',
    'printf "What is a quince?\\nHow do I cook it?\\n/save quince.md\\n" | <%= config.bin %> chat single',
    'printf "hello\\n" | <%= config.bin %> chat --json | jq -c \'select(.type=="done")\'',
  ]
  static args = {
    chain: Args.string({
      description: 'chain name or path to a chain file (default: config, else quick-deep)',
      required: false,
      // standard input holds the questions, not the chain's name
      ignoreStdin: true,
    }),
  }
  // --json here means NDJSON events, as for chain run
  static enableJsonFlag = false
  static flags = toOclifFlags({
    session: {
      type: 'string',
      description: 'Continue the conversation NAME (a new one, named at the start, by default).',
      helpValue: 'NAME',
    },
    json: {
      ...chainRunSpec.flags.json!,
      description: "Print every turn's run as NDJSON events, one per line (commands' output on stderr).",
    },
    ...pick('offline', 'host', 'memory', 'profile', 'show-memory', 'show-prompt'),
  })

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Chat)
    const { runChat } = await import('../cli/chat/run.js')
    const code = await runChat(
      { ...(flags as Record<string, unknown>), ...(args.chain ? { chain: args.chain as string } : {}) },
      processIO(),
    )
    // runtimes may keep sockets open: the chat is over once its output is out
    await new Promise((resolve) => process.stdout.write('', resolve))
    await new Promise((resolve) => process.stderr.write('', resolve))
    process.exit(code)
  }
}
