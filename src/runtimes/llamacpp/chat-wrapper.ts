/**
 * Which chat template a llama.cpp model is prompted with: node-llama-cpp's chat wrappers.
 *
 * - `auto` (the default): node-llama-cpp's own choice from the GGUF's metadata (its Jinja
 *   `tokenizer.chat_template` when it has one, else the architecture and file name; the test model
 *   stories260K, with no template, gets Llama2Chat).
 * - A wrapper's name (node-llama-cpp's names, e.g. `chatML`, `llama3.1`, `llama2Chat`) forces it.
 * - `none`: no template, raw completion of `system + "\n\n" + prompt` (generate.ts), as before chat
 *   templates; for base models that only continue text.
 *
 * A wrapper is resolved once per loaded model and name (resolving reads the GGUF's metadata and may
 * parse a Jinja template).
 */
import type { ChatWrapper, LlamaModel, SpecializedChatWrapperTypeName } from 'node-llama-cpp'
import { MiradorError } from '../../engine/errors.js'

/**
 * The names a manifest's `chat_wrapper` may take: node-llama-cpp 3.21.1's specialized wrapper names
 * (`specializedChatWrapperTypeNames`; the Jinja ones come with `auto`), plus `auto` and `none`.
 */
export const CHAT_WRAPPER_NAMES = [
  'auto',
  'none',
  'general',
  'deepSeek',
  'qwen',
  'llama3.2-lightweight',
  'llama3.1',
  'llama3',
  'llama2Chat',
  'mistral',
  'alpacaChat',
  'functionary',
  'chatML',
  'falconChat',
  'gemma4',
  'gemma',
  'harmony',
  'muse',
  'seed',
] as const

export type ChatWrapperName = (typeof CHAT_WRAPPER_NAMES)[number]

export function isChatWrapperName(name: unknown): name is ChatWrapperName {
  return typeof name === 'string' && (CHAT_WRAPPER_NAMES as readonly string[]).includes(name)
}

export function checkChatWrapperName(name: unknown): ChatWrapperName {
  if (isChatWrapperName(name)) return name
  throw new MiradorError(
    'USAGE',
    `unknown llama.cpp chat wrapper ${JSON.stringify(name)}: use one of ${CHAT_WRAPPER_NAMES.join(', ')}`,
  )
}

const resolved = new WeakMap<LlamaModel, Map<string, ChatWrapper>>()

/** The chat wrapper for `model` (not for `none`, which has none). */
export async function chatWrapperFor(model: LlamaModel, name: Exclude<ChatWrapperName, 'none'>): Promise<ChatWrapper> {
  let byName = resolved.get(model)
  if (!byName) resolved.set(model, (byName = new Map()))
  let wrapper = byName.get(name)
  if (!wrapper) {
    const { resolveChatWrapper } = await import('node-llama-cpp')
    const type: 'auto' | SpecializedChatWrapperTypeName = name
    wrapper = resolveChatWrapper(model, { type, warningLogs: false })
    byName.set(name, wrapper)
  }
  return wrapper
}
