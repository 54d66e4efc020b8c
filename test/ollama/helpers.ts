/** Shared helpers for the Ollama tests. */
import type { StreamPart } from '../../src/engine/runtime.js'

/** Collects every part of a stream; fails if it takes longer than `ms` (no hang can pass). */
export async function collect(stream: AsyncIterable<StreamPart>, ms = 10_000): Promise<StreamPart[]> {
  const parts: StreamPart[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`stream did not end within ${ms} ms; got ${JSON.stringify(parts.map((p) => p.type))}`)),
      ms,
    )
  })
  try {
    await Promise.race([
      (async () => {
        for await (const p of stream) parts.push(p)
      })(),
      deadline,
    ])
  } finally {
    clearTimeout(timer)
  }
  return parts
}

export const texts = (parts: StreamPart[]): string[] => parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : []))

export const ofType = <T extends StreamPart['type']>(
  parts: StreamPart[],
  type: T,
): Extract<StreamPart, { type: T }>[] => parts.filter((p): p is Extract<StreamPart, { type: T }> => p.type === type)

/** the one error part, or a failure naming what came instead */
export function onlyError(parts: StreamPart[]): Extract<StreamPart, { type: 'error' }>['error'] {
  const errors = ofType(parts, 'error')
  if (errors.length !== 1 || parts[parts.length - 1]!.type !== 'error') {
    throw new Error(`expected exactly one error part, at the end; got ${JSON.stringify(parts.map((p) => p.type))}`)
  }
  return errors[0]!.error
}

/** resolves when `cond()` holds; rejects after `ms` */
export async function until(cond: () => boolean, ms = 3_000, what = 'condition'): Promise<void> {
  const start = Date.now()
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
