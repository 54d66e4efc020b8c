/** What the network said when a request failed, as Node names it (ECONNREFUSED, ENOTFOUND, …). */

/** the first `code` on the error or its causes (fetch wraps socket errors in `cause`) */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code) return code
    const errors = (e as { errors?: unknown }).errors
    if (Array.isArray(errors) && errors.length) {
      const inner = networkCode(errors[0])
      if (inner) return inner
    }
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host',
}

/** The network's reason in words ("connection refused"), when `code` is one Mirador knows. */
export function networkReason(code: string | undefined): string | undefined {
  return code === undefined ? undefined : REASONS[code]
}
