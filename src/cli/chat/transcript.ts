/**
 * `/save FILE`: the chat so far as Markdown, each turn a heading with the question, then the answer
 * as the model wrote it (Markdown already, most of the time). Written atomically and private
 * (0600): it holds what the chat holds.
 */
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import type { ChatTurn } from './conversation.js'

/** A question on one heading line: its first line, the rest (if any) quoted under it. */
function question(query: string): string {
  const [first = '', ...rest] = query.trim().split('\n')
  return `## ${first}` + (rest.length ? `\n\n${rest.map((l) => `> ${l}`).join('\n')}` : '')
}

export function transcript(turns: ChatTurn[], meta: { session?: string; at?: Date }): string {
  const when = (meta.at ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z')
  const head = `# Mirador chat${meta.session ? `: ${meta.session}` : ''}\n\n_Saved ${when}_\n`
  const body = turns.map((t) => {
    const answer = t.ok ? t.answer.trim() : `_No answer${t.answer.trim() ? ` (interrupted): ${t.answer.trim()}` : ''}_`
    return `${question(t.query)}\n\n${answer}\n\n<sub>${t.answeredBy} · ${t.runId}</sub>\n`
  })
  return [head, ...body].join('\n')
}

/** Writes the transcript to `file` (relative to `cwd`); returns the absolute path. */
export async function saveTranscript(
  file: string,
  cwd: string,
  turns: ChatTurn[],
  meta: { session?: string },
): Promise<string> {
  const target = path.resolve(cwd, file)
  await writeFileAtomic(target, transcript(turns, meta), 0o600)
  return target
}
