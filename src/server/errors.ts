/**
 * Errors in OpenAI's JSON shape ({error: {message, type, code}}), so OpenAI clients raise them as
 * the API errors they know (NotFoundError, RateLimitError, …) with the message a user can act on.
 */
import type { FastifyReply } from 'fastify'
import { MiradorError, type ErrorCode } from '../engine/errors.js'

export interface ApiErrorBody {
  error: { message: string; type: string; code: string | null; param?: string }
}

/** OpenAI's error `type` for each status it uses. */
const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'server_error',
  502: 'server_error',
  504: 'server_error',
}

export function apiError(status: number, message: string, code: string | null = null): ApiErrorBody {
  return { error: { message, type: TYPES[status] ?? 'server_error', code } }
}

export function sendError(reply: FastifyReply, status: number, message: string, code: string | null = null): void {
  void reply.code(status).send(apiError(status, message, code))
}

/** A failed run's status: the client's fault, a time limit, or the models behind the chain. */
export function statusOf(code: ErrorCode): number {
  if (code === 'USAGE') return 400
  if (code === 'ABORTED') return 504
  return 502
}

/** What Fastify itself refuses (bad JSON, too large a body, no route) in the same shape. */
export function frameworkError(err: { statusCode?: number; message: string; code?: string }): {
  status: number
  body: ApiErrorBody
} {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
  if (status >= 500) {
    return { status, body: apiError(status, MiradorError.from(err).message, 'INTERNAL') }
  }
  return { status, body: apiError(status, err.message, err.code ?? null) }
}
