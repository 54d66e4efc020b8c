/**
 * Where Ollama is. Host strings are normalised exactly as the `ollama` client normalises them
 * (its `formatHost`), so the URL in Mirador's messages is the URL the client really calls:
 * "localhost" → http://localhost:11434, ":8080" → http://127.0.0.1:8080, "https://h" → https://h:443.
 */
export const DEFAULT_PORT = '11434'
export const DEFAULT_HOST = `http://127.0.0.1:${DEFAULT_PORT}`

export function normalizeHost(host: string | undefined): string {
  let h = host?.trim()
  if (!h) return DEFAULT_HOST
  let explicit = h.includes('://')
  if (h.startsWith(':')) {
    h = `http://127.0.0.1${h}`
    explicit = true
  }
  if (!explicit) h = `http://${h}`
  const url = new URL(h)
  const port = url.port || (explicit ? (url.protocol === 'https:' ? '443' : '80') : DEFAULT_PORT)
  let auth = ''
  if (url.username) auth = `${url.username}${url.password ? `:${url.password}` : ''}@`
  const out = `${url.protocol}//${auth}${url.hostname}:${port}${url.pathname}`
  return out.endsWith('/') ? out.slice(0, -1) : out
}

/** The host for messages: any password in the URL is masked. */
export function displayHost(host: string): string {
  try {
    const url = new URL(host)
    if (!url.password) return host
    url.password = '***'
    return url.toString().replace(/\/$/, '')
  } catch {
    return host
  }
}
