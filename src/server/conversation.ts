/**
 * A chat request's earlier messages, given to the chain the way a session's turns are: stages take
 * conversation context through `{{memory}}` (the memory plugin puts a session's earlier turns there
 * as `Q: …` / `A: …`), so the request's earlier user and assistant messages are added to that
 * variable in the same form, after what the memory plugin put there, and its system messages are
 * added to the system prompt of those same stages. A stage that does not read `{{memory}}` gets
 * neither, as it gets no session. The text goes in as variables, never into a template, so a
 * `{{…}}` a client writes stays text.
 */
import { templateVars } from '../engine/template.js'
import type { Prompt } from '../engine/types.js'
import type { Turn } from './messages.js'

export interface Conversation {
  system: string[]
  history: Turn[]
}

/** a client resends the whole conversation each time: its most recent part is what a prompt has room for */
export const MAX_HISTORY_CHARS = 16_000

const HEAD = 'Earlier in this conversation:\n'

function readsMemory(p: Prompt): boolean {
  return [p.template, p.system].some(
    (t) => t !== undefined && templateVars(t).some((v) => v.split('.')[0] === 'memory'),
  )
}

/** The earlier turns as the memory plugin writes a session's, cut from the start past MAX_HISTORY_CHARS. */
export function historyText(history: Turn[]): string {
  const text = history.map((t) => `${t.role === 'user' ? 'Q' : 'A'}: ${t.text}`).join('\n')
  return text.length <= MAX_HISTORY_CHARS ? text : `…${text.slice(text.length - MAX_HISTORY_CHARS)}`
}

/** The stage's prompt with the conversation added, for a stage that reads `{{memory}}`. */
export function withConversation(prompt: Prompt, c: Conversation): Prompt {
  if (!readsMemory(prompt) || (c.history.length === 0 && c.system.length === 0)) return prompt
  const vars = { ...prompt.vars }
  if (c.history.length) {
    const recalled = typeof vars.memory === 'string' && vars.memory ? `${vars.memory}\n\n` : ''
    vars.memory = recalled + HEAD + historyText(c.history)
  }
  if (!c.system.length) return { ...prompt, vars }
  vars.serve = { system: c.system.join('\n\n') }
  const system = prompt.system ? `${prompt.system}\n\n{{serve.system}}` : '{{serve.system}}'
  return { ...prompt, system, vars }
}
