import { Args, Flags } from '@oclif/core'
import { safeText } from '../../cli/render/format.js'
import { MiradorError } from '../../engine/errors.js'
import { provenance } from '../../plugins/memory/recall.js'
import { validateSessionName } from '../../plugins/memory/sessions.js'
import { MiradorCommand } from '../base.js'
import { memorySetup, oneLine, storeNotes } from './base.js'
import { MAX_LIMIT, runBatch } from './search-batch.js'

export default class MemorySearch extends MiradorCommand {
  static summary = 'Find memories relevant to a text, with the scores recall uses; --batch for many queries.'
  static description =
    'The same recall that fills {{memory}}: vector similarity fused with a lexical (BM25) score over the ' +
    'candidates, and recency. Shows each component; a memory that a later one updates follows it and says ' +
    '"superseded by ID". ' +
    'Only memories at or above the similarity threshold injection uses (the memory option `threshold`) ' +
    'are listed: when none is, nothing is relevant and the list is empty.\n\n' +
    '--batch reads JSONL on standard input, one {"query", "ref"?, "session"?, "limit"?} a line, ' +
    'and writes one JSON line per query, in order: {"ref", "results": [{"id", "ref", "score"}]}, best first. ' +
    'A query\'s "ref" is echoed back; a result\'s "ref" is the one given to `memory import` (else null). ' +
    'A bad line gets {"ref", "line", "error"} instead, and the batch goes on. ' +
    '--session and --limit are the defaults of lines that do not say.'
  static examples = [
    '<%= config.bin %> memory search "my sister\'s birthday"',
    '<%= config.bin %> memory search "travel plans" --limit 10 --json',
    '<%= config.bin %> memory search "the garden" --session garden',
    '<%= config.bin %> memory search --batch < questions.jsonl > answers.jsonl',
  ]
  static args = {
    query: Args.string({ description: 'what to look for (not with --batch)', required: false, ignoreStdin: true }),
  }
  static flags = {
    limit: Flags.integer({ char: 'k', description: 'How many results at most.', default: 5, min: 1, max: MAX_LIMIT }),
    session: Flags.string({ description: "Only this session's memories.", helpValue: 'NAME' }),
    batch: Flags.boolean({ description: 'Queries as JSONL on standard input; one JSON line out per query.' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(MemorySearch)
    if (Boolean(flags.batch) === (args.query !== undefined))
      throw new MiradorError(
        'USAGE',
        flags.batch
          ? '--batch reads its queries from standard input: give no QUERY with it'
          : 'say what to look for: mirador memory search QUERY (or --batch with JSONL on standard input)',
      )
    const session = flags.session === undefined ? undefined : validateSessionName(flags.session)
    const s = await memorySetup(flags.config as string | undefined)
    const search = (query: string, limit: number, session?: string) =>
      s.memory.searchRelevant(query, { limit, ...(session !== undefined ? { session } : {}) })

    if (flags.batch) {
      const done = await runBatch(
        process.stdin,
        (q) => search(q.query, q.limit ?? flags.limit, q.session ?? session),
        (line) => void process.stdout.write(`${line}\n`),
      )
      if (done.bad > 0) process.exitCode = 1
      return undefined
    }

    const found = await search(args.query!, flags.limit, session)
    if (!this.jsonEnabled()) {
      for (const w of (await storeNotes(s.memory)).warnings) this.logToStderr(`! ${w}`)
      if (found.length === 0)
        this.log(`Nothing relevant remembered: no memory reaches the similarity threshold (${s.memory.threshold()}).`)
      for (const m of found) {
        const p = provenance(m)
        const parts =
          `similarity ${p.similarity.toFixed(3)}, ` + `lexical ${p.lexical.toFixed(3)}, recency ${p.recency.toFixed(3)}`
        const ref = m.meta.ref !== undefined ? `  ref ${JSON.stringify(m.meta.ref)}` : ''
        const newer = p.supersededBy ? `  superseded by ${p.supersededBy}` : ''
        this.log(`${m.id}  score ${p.score.toFixed(3)} (${parts})${ref}${newer}  ${safeText(oneLine(m.text, 70))}`)
      }
    }
    return found.map((m) => ({ ...provenance(m), ref: m.meta.ref ?? null, text: m.text, meta: m.meta }))
  }
}
