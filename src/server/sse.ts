/**
 * Server-sent events as OpenAI streams them: one `data: JSON` line per chunk, a blank line after
 * each, and `data: [DONE]` at the end. Written straight to the socket: Fastify's reply is bypassed
 * once the stream starts (reply.hijack), so nothing buffers a token.
 */
import type { ServerResponse } from 'node:http'

export interface SseStream {
  send(data: unknown): void
  end(): void
}

export function openSse(res: ServerResponse, headers: Record<string, string> = {}): SseStream {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // proxies (nginx) would otherwise hold the tokens back
    'x-accel-buffering': 'no',
  })
  res.flushHeaders()
  const write = (line: string): void => {
    if (!res.destroyed && !res.writableEnded) res.write(line)
  }
  return {
    send: (data) => write(`data: ${JSON.stringify(data)}\n\n`),
    end: () => {
      write('data: [DONE]\n\n')
      if (!res.writableEnded) res.end()
    },
  }
}
