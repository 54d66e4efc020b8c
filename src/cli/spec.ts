/**
 * Command specs as plain data: the oclif commands build their args and flags from these, and the
 * fast path of `chain run` (src/cli/main.ts) parses argv with node:util from the same spec, so the
 * two cannot drift apart and `chain run` can print its acknowledgment before @oclif/core loads.
 */
export interface FlagSpec {
  type: 'boolean' | 'string'
  description: string
  char?: string
  default?: boolean | string
  /** boolean flags with a `--no-` form */
  allowNo?: boolean
  /** string flags that may be given more than once */
  multiple?: boolean
  helpValue?: string
}

export interface ArgSpec {
  name: string
  description: string
  required: boolean
}

export interface CommandSpec {
  summary: string
  description: string
  examples: string[]
  args: ArgSpec[]
  flags: Record<string, FlagSpec>
}

export const commonFlags = {
  config: {
    type: 'string',
    description: 'Config file to use instead of ./mirador.config.yaml (also MIRADOR_CONFIG).',
    helpValue: 'FILE',
  },
  debug: {
    type: 'boolean',
    description: 'Show stack traces and internal details of errors, and events of types the output does not know.',
  },
} satisfies Record<string, FlagSpec>

export const chainRunSpec: CommandSpec = {
  summary: 'Run a chain on a query, streaming every stage as it answers.',
  description:
    'Prints an acknowledgment at once, then streams each stage of the chain (labelled, with its confidence) and ' +
    'ends with a summary line: which stage answered, models used, tokens and time. Stages that do not depend on ' +
    'each other run at the same time.\n' +
    '\n' +
    'CHAIN is a name from `mirador chain ls` (./chains, then $MIRADOR_HOME/chains, then the shipped chains), ' +
    'a path to a chain file, or `auto` to let the learner choose (as `mirador ask` does). ' +
    'QUERY may also come on standard input.\n' +
    '\n' +
    'Exit status: 0 when the run produced an answer, 1 when no stage did or the input was bad, ' +
    '130 when interrupted (Ctrl-C, or the reader of a pipe closed it early).',
  examples: [
    '<%= config.bin %> chain run quick-deep "What should I focus on this week?"',
    '<%= config.bin %> chain run single "Summarise this" --no-stream < notes.txt',
    '<%= config.bin %> chain run quick-deep "Plan my day" --json | jq -c \'select(.type=="stage-end")\'',
    'OLLAMA_HOST=http://studio.local:11434 <%= config.bin %> chain run draft-refine "Write a haiku"',
    '<%= config.bin %> chain run single "And what about Tuesday?" --session planning',
    '<%= config.bin %> chain run single "Something private" --no-memory',
    '<%= config.bin %> chain run quick-deep "Plan my day" --profile survival',
    '<%= config.bin %> chain run quick-deep "Plan my day" --show-prompt',
  ],
  args: [
    { name: 'chain', description: 'chain name or path to a chain file', required: true },
    { name: 'query', description: 'what to ask (read from standard input when omitted)', required: false },
  ],
  flags: {
    json: { type: 'boolean', description: 'Print the run as NDJSON events, one per line.' },
    stream: {
      type: 'boolean',
      default: true,
      allowNo: true,
      description: 'Stream the stages; --no-stream prints only the final answer.',
    },
    offline: {
      type: 'boolean',
      description: 'Never pull models: a missing model is an error (also MIRADOR_OFFLINE=1).',
    },
    host: {
      type: 'string',
      description: 'Ollama host for models without their own (default OLLAMA_HOST, else http://127.0.0.1:11434).',
      helpValue: 'URL',
    },
    session: {
      type: 'string',
      description:
        'Continue the conversation NAME: its earlier turns are given to the models, and this turn is added to it.',
      helpValue: 'NAME',
    },
    memory: {
      type: 'boolean',
      default: true,
      allowNo: true,
      description:
        'Recall and remember; --no-memory reads nothing and writes nothing (not even the session file). ' +
        'Also MIRADOR_MEMORY=off, or memory: off in config.',
    },
    'show-memory': {
      type: 'boolean',
      description: 'Print the memories recalled into each prompt, with their ids and scores.',
    },
    'show-prompt': {
      type: 'boolean',
      description:
        "Print each stage's prompt as sent to its model: the template filled in with the query, " +
        'earlier stages and recalled memories.',
    },
    rate: {
      type: 'boolean',
      description: 'Ask for a 1–5 rating at the end (in a terminal); ratings teach `mirador ask` which chain to pick.',
    },
    profile: {
      type: 'string',
      description:
        'Energy profile to use (profiles/NAME.yaml) instead of choosing from the battery. ' +
        'Also MIRADOR_PROFILE, or profile: in config.',
      helpValue: 'NAME',
    },
    explain: { type: 'boolean', description: 'With CHAIN auto: say why the chain was chosen.' },
    ...commonFlags,
  },
}

export const askSpec: CommandSpec = {
  summary: 'Ask a question: Mirador picks the chain most likely to satisfy you, then runs it.',
  description:
    "The same as `mirador chain run auto QUERY`. The query's type is found (keyword rules in config, chain " +
    'triggers, or the nearest questions you rated before), and a chain is chosen by Thompson sampling over the ' +
    'weights your ratings taught (chains/*.yaml `weights:`). Rate answers with `mirador rate` (or --rate) and the ' +
    'choice improves. --explain says why a chain was chosen.',
  examples: [
    '<%= config.bin %> ask "What should I focus on this week?"',
    '<%= config.bin %> ask "Plan a trip to Lisbon" --explain --rate',
    '<%= config.bin %> ask "Summarise my notes" --json',
  ],
  args: [{ name: 'query', description: 'what to ask (read from standard input when omitted)', required: false }],
  flags: {
    explain: {
      type: 'boolean',
      description: "Say why this chain was chosen: the query type, and each candidate's weight and draw.",
    },
    rate: { type: 'boolean', description: 'Ask for a 1–5 rating at the end (in a terminal).' },
    ...Object.fromEntries(Object.entries(chainRunSpec.flags)),
  },
}
