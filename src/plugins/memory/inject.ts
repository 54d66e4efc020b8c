/**
 * The `{{memory}}` block: the session's earlier turns first (they are the conversation), then the
 * recalled memories, each with its id so the user can trace and forget it, within a token budget.
 */
import { templateVars } from '../../engine/template.js'
import type { Ranked } from './recall.js'

/**
 * Whether a stage's prompt or system prompt reads `{{memory}}`: a stage that does not is given
 * nothing and says nothing (no `memory` event), and a run none of whose stages does recalls nothing.
 */
export function usesMemory(p: { prompt?: string; template?: string; system?: string }): boolean {
  return usesVar(p, 'memory')
}

/** Whether a stage's prompt or system prompt reads the variable `name` (`{{docs}}`, `{{memory}}`). */
export function usesVar(p: { prompt?: string; template?: string; system?: string }, name: string): boolean {
  return [p.prompt, p.template, p.system].some(
    (t) => typeof t === 'string' && templateVars(t).some((v) => v.split('.')[0] === name),
  )
}

/** Tokens, roughly: about four characters each in English text. */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

/** The session may take at most this share of the budget when memories compete for it. */
const SESSION_SHARE = 0.6

export function memoryBlock(
  session: string,
  memories: Ranked[],
  budgetTokens: number,
): { text: string; memories: Ranked[] } {
  const parts: string[] = []
  let left = budgetTokens
  if (session) {
    const head = 'Earlier in this conversation:\n'
    const room = Math.max(0, Math.floor((memories.length ? SESSION_SHARE : 1) * budgetTokens) - approxTokens(head))
    // the most recent turns matter most: keep the end when it must be cut
    const body = approxTokens(session) <= room ? session : `…${session.slice(session.length - room * 4)}`
    if (room > 0) {
      parts.push(head + body)
      left -= approxTokens(head + body)
    }
  }
  const used: Ranked[] = []
  const head = 'What you remember from earlier conversations:'
  const lines: string[] = []
  for (const m of memories) {
    const line = `[${m.id}] ${m.text.replace(/\s+/g, ' ').trim()}`
    const cost = approxTokens(line) + (lines.length ? 0 : approxTokens(head))
    if (cost > left) continue
    lines.push(line)
    used.push(m)
    left -= cost
  }
  if (lines.length) parts.push([head, ...lines].join('\n'))
  return { text: parts.join('\n\n'), memories: used }
}
