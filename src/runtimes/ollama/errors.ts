/**
 * Maps what the `ollama` client, fetch and the network throw to MiradorError codes, with messages
 * that say what to do. Checks go by `name`/`code`, not `instanceof`: the client, undici and test
 * runners may each bring their own realm's Error classes.
 */
import { MiradorError } from '../../engine/errors.js'
import type { StreamWatch } from './client.js'
import type { NdjsonError } from './ndjson.js'
import { displayHost } from './host.js'
import { networkCode, networkReason } from '../../lib/network-code.js'

/** what was going on when something failed */
export interface FailureContext {
  host: string
  model: string
  /** text deltas received so far */
  tokens: number
  watch: StreamWatch
  /**
   * 'run' a generation, 'pull' a pull, 'call' a one-shot API call; while preparing a model:
   * 'create' a derived model, 'upload' an adapter blob, 'load' loading into memory
   */
  action?: Action
}

export type Action = 'run' | 'pull' | 'call' | 'create' | 'upload' | 'load'

/** what the runtime was doing, for messages: "pulling llama3.2:1b" */
function doingText(action: Action | undefined, m: string): string {
  switch (action) {
    case 'pull':
      return `pulling ${m}`
    case 'create':
      return `creating ${m}`
    case 'upload':
      return `uploading an adapter for ${m}`
    case 'load':
      return `loading ${m}`
    case 'call':
      return m ? `answering for ${m}` : 'answering'
    default:
      return `running ${m}`
  }
}

/** the network codes that mean the request never reached a server (the words are lib/network-code.ts's) */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'EPIPE',
  'ECONNABORTED',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** why the server was not reached, in words, when `code` says it was not */
const unreachableReason = (code: string | undefined): string | undefined =>
  code !== undefined && UNREACHABLE.has(code) ? networkReason(code) : undefined

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

export { networkCode }

function statusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && (err as { name?: unknown }).name === 'ResponseError') {
    const s = (err as { status_code?: unknown }).status_code
    return typeof s === 'number' ? s : undefined
  }
  return undefined
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/** Ollama's 404 for a model it does not have: `model "x" not found, try pulling it first` */
export function isModelNotFound(err: unknown): boolean {
  return statusOf(err) === 404 && /\bmodel\b.*\bnot found\b/i.test(messageOf(err))
}

/** Also says how to do without Ollama: a first run on a machine without it ends here. */
export function unreachableMessage(host: string, reason: string): string {
  return (
    `Cannot reach Ollama at ${displayHost(host)} (${reason}). Start it with \`ollama serve\`, or point ` +
    "OLLAMA_HOST (or the model's `host` in models/manifest.yaml) at a running server. " +
    'No Ollama? `mirador models pull default` downloads a small model that the shipped chains then run on ' +
    'inside Mirador; or run any GGUF file on the embedded llama.cpp runtime: a manifest entry with ' +
    '`runtime: llamacpp` and `base: ${MIRADOR_GGUF}`, as in the shipped `local-story` chain ' +
    '(MIRADOR_GGUF=path/to/model.gguf mirador chain run local-story "Once upon a time").'
  )
}

export function timeoutError(
  kind: 'first-token' | 'idle' | 'deadline',
  ms: number,
  ctx: Pick<FailureContext, 'host' | 'model' | 'tokens' | 'action'>,
): MiradorError {
  const h = displayHost(ctx.host)
  const secs = ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`
  const details = { host: ctx.host, model: ctx.model, timeoutMs: ms, tokens: ctx.tokens, kind }
  let message: string
  if (ctx.action === 'pull') {
    message =
      `Ollama at ${h} stopped reporting progress while pulling ${ctx.model}: nothing for ${secs}. ` +
      `Check the server's network access and try again, or run \`ollama pull ${ctx.model}\` yourself.`
  } else if (ctx.action === 'create' || ctx.action === 'upload') {
    const what = ctx.action === 'create' ? `creating ${ctx.model}` : `receiving an adapter for ${ctx.model}`
    message =
      `Ollama at ${h} stopped making progress while ${what}: nothing for ${secs}. ` +
      "Check the server's log and free disk space, then try again, or raise the runtime's idleTimeoutMs."
  } else if (ctx.action === 'load') {
    message =
      `Ollama at ${h} did not finish loading ${ctx.model} within ${secs}. The model may be too big for this machine ` +
      "or the server is busy: check `ollama ps` and the server's log, or raise the runtime's firstTokenTimeoutMs."
  } else if (kind === 'first-token') {
    message =
      `Ollama at ${h} sent no token for ${ctx.model} within ${secs}. The model may still be loading or the ` +
      "machine is overloaded: check `ollama ps`, try a smaller model, or raise the runtime's firstTokenTimeoutMs."
  } else if (kind === 'idle') {
    message =
      `Ollama at ${h} stopped sending tokens for ${ctx.model}: ` +
      `nothing for ${secs} after ${plural(ctx.tokens, 'token')}. ` +
      "Check that the server is not stuck (`ollama ps`) and try again, or raise the runtime's idleTimeoutMs."
  } else {
    message = `Ollama at ${h} did not answer within ${secs}. Check that the server is running and not overloaded.`
  }
  return new MiradorError('RUNTIME_TIMEOUT', message, { details })
}

/** Everything that is not a timeout, an abort or a missing model. */
export function toMiradorError(err: unknown, ctx: FailureContext): MiradorError {
  if (MiradorError.is(err)) return err
  const h = displayHost(ctx.host)
  const m = ctx.model
  const details = { host: ctx.host, model: m, tokens: ctx.tokens }
  const doing = doingText(ctx.action, m)
  const after =
    ctx.action === 'run' || ctx.action === undefined || ctx.action === 'pull'
      ? ` (after ${plural(ctx.tokens, 'token')})`
      : ''
  const name = err && typeof err === 'object' ? (err as { name?: unknown }).name : undefined

  // a streamed line that is not a JSON object (ndjson.ts) or a body that does not parse
  if (name === 'NdjsonError' || name === 'SyntaxError') {
    const what = name === 'NdjsonError' ? `a line that is not ${(err as NdjsonError).what}` : `a body that is not JSON`
    return new MiradorError(
      'RUNTIME_PROTOCOL',
      `Ollama at ${h} sent ${what} while ${doing}${after}: ${messageOf(err).replace(/^not (a )?JSON( object)?: /, '')}. ` +
        "Check that OLLAMA_HOST (or the model's `host`) points at an Ollama server.",
      { cause: err, details },
    )
  }

  // Ollama said what went wrong, as an `{"error": …}` line in the stream
  if (ctx.watch.errorLine !== undefined) {
    return new MiradorError(
      'RUNTIME_FAILED',
      `Ollama at ${h} reported an error while ${doing}: ${ctx.watch.errorLine}`,
      {
        cause: err,
        details,
      },
    )
  }

  // an HTTP error status
  const status = statusOf(err)
  if (status !== undefined) {
    const text = messageOf(err)
    if (status === 404 || status === 405) {
      return new MiradorError(
        'RUNTIME_PROTOCOL',
        `${h} answered HTTP ${status} (${text}) while ${doing}; it does not look like an Ollama server. ` +
          "Check OLLAMA_HOST (or the model's `host` in models/manifest.yaml).",
        { cause: err, details: { ...details, status } },
      )
    }
    return new MiradorError('RUNTIME_FAILED', `Ollama at ${h} failed while ${doing}: ${text} (HTTP ${status})`, {
      cause: err,
      details: { ...details, status },
    })
  }

  const text = messageOf(err)
  if (/did not receive done or success response in stream/i.test(text)) {
    return new MiradorError(
      'RUNTIME_PROTOCOL',
      (ctx.action === 'pull' || ctx.action === 'create'
        ? `The stream from Ollama at ${h} ended while ${doing} without a final "success" line. `
        : `The stream from Ollama at ${h} ended after ${plural(ctx.tokens, 'token')} of ${m} ` +
          'without a final "done" line. ') + 'The server may have been interrupted; try again.',
      { cause: err, details },
    )
  }

  // the network
  const code = networkCode(err)
  const unreached = unreachableReason(code)
  if (!ctx.watch.responded && unreached) {
    return new MiradorError('RUNTIME_UNREACHABLE', unreachableMessage(ctx.host, unreached), {
      cause: err,
      details: { ...details, code },
    })
  }
  if (ctx.watch.responded || code === 'UND_ERR_SOCKET' || /terminated|other side closed|socket/i.test(text)) {
    const what =
      ctx.action === 'run' || ctx.action === undefined || ctx.action === 'call'
        ? `after ${plural(ctx.tokens, 'token')} of ${m}`
        : `while ${doing}`
    return new MiradorError(
      'RUNTIME_FAILED',
      `The connection to Ollama at ${h} was lost ${what}. ` +
        'The server may have crashed or been stopped; check its log and try again.',
      { cause: err, details: { ...details, ...(code ? { code } : {}) } },
    )
  }
  if (name === 'TypeError' && /fetch failed/i.test(text)) {
    const reason = unreached ?? messageOf((err as { cause?: unknown }).cause ?? err)
    return new MiradorError('RUNTIME_UNREACHABLE', unreachableMessage(ctx.host, reason), {
      cause: err,
      details: { ...details, ...(code ? { code } : {}) },
    })
  }
  return new MiradorError('RUNTIME_FAILED', `Ollama at ${h} failed while ${doing}: ${text}`, { cause: err, details })
}

/** A model Ollama lacks while pulling is not allowed (`offline`, or `pull: false`). */
export function pullRefusedError(host: string, model: string, offline: boolean): MiradorError {
  const why = offline ? '--offline forbids pulling it' : 'pulling is turned off for this runtime'
  return new MiradorError(
    'MODEL_MISSING',
    `model ${model} is not on the Ollama server at ${displayHost(host)} and ${why}; run \`ollama pull ${model}\``,
    { details: { host, model } },
  )
}
