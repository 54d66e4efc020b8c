/**
 * The memory service's side (protocol.ts): started by the Chroma supervisor, beside the server it
 * supervises, and gone with it (idle stop, `memory stop`). It keeps the key, the store's client and
 * the embedders warm, and answers `recall` lines. A failure here never takes the supervisor down:
 * a run that cannot reach the service recalls by itself.
 */
import { chmodSync, rmSync } from 'node:fs'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { MiradorError } from '../../../engine/errors.js'
import { loadCipher, type MemoryCipher } from '../../../lib/crypto.js'
import { createHashingEmbedder, type Embedder } from '../../../lib/embedder.js'
import { createUseEmbedder, USE_ID } from '../../../lib/use-embedder.js'
import { createChromaStore, type ChromaMemoryStoreApi } from '../chroma/store.js'
import { collectionFor } from '../open-store.js'
import { recall } from '../recall.js'
import { StoreWords } from '../words.js'
import { SERVICE_VERSION, type ServiceAnswer, type ServiceRequest } from './protocol.js'

export interface ServiceOptions {
  home: string
  socket: string
  /** the Chroma server this process supervises */
  chromaUrl: string
  /** the guard's token in front of it (chroma/guard.ts) */
  chromaToken: string
  /** marks the server used (its idle clock), as every run's request does */
  touch: () => void
  log: (message: string) => void
}

/** how stale an index of words may get with what was written without telling the service (words.ts) */
const WORDS_REFRESH_MS = 10_000

/** the embedders the service runs itself; a run on another one recalls in process */
function embedderFor(id: string): Embedder | undefined {
  const hashing = createHashingEmbedder()
  if (id === hashing.id) return hashing
  return id === USE_ID ? createUseEmbedder() : undefined
}

export async function startMemoryService(opts: ServiceOptions): Promise<net.Server> {
  let cipher: Promise<MemoryCipher> | undefined
  const stores = new Map<string, Promise<ChromaMemoryStoreApi>>()
  const embedders = new Map<string, Embedder | undefined>()
  // each collection's index of words (words.ts): in this process's memory only, never written anywhere;
  // runs tell the service what they wrote (a refresh request), the timer catches what did not tell
  const words = new Map<ChromaMemoryStoreApi, StoreWords>()
  const wordsFor = (store: ChromaMemoryStoreApi) => {
    let w = words.get(store)
    if (!w) {
      words.set(store, (w = new StoreWords(store)))
      w.keepFresh(WORDS_REFRESH_MS)
    }
    return w
  }
  // a passphrase home needs the user's passphrase, which only a run has: such runs recall themselves
  const key = () => (cipher ??= loadCipher({ home: opts.home, env: {} }))
  const storeFor = (embedderId: string) => {
    let store = stores.get(embedderId)
    if (!store) {
      store = key().then((c) =>
        createChromaStore({
          url: opts.chromaUrl,
          token: opts.chromaToken,
          collection: collectionFor(embedderId),
          cipher: c,
        }),
      )
      // a failed open is tried again by the next request
      store.catch(() => stores.delete(embedderId))
      stores.set(embedderId, store)
    }
    return store
  }

  const answer = async (req: ServiceRequest): Promise<ServiceAnswer> => {
    if (req.version !== SERVICE_VERSION || !['recall', 'embed', 'refresh'].includes(req.op)) {
      return { id: req.id, ok: false, code: 'USAGE', message: `unknown request (version ${String(req.version)})` }
    }
    if (req.op === 'refresh') {
      // an index not built yet reads every memory when it is: nothing to bring now
      const store = await stores.get(req.embedder)?.catch(() => undefined)
      const byWords = store && words.get(store)
      if (byWords?.ready) await byWords.refresh()
      return { id: req.id, ok: true, refreshed: byWords?.ready ?? false }
    }
    if (!embedders.has(req.embedder)) embedders.set(req.embedder, embedderFor(req.embedder))
    const embedder = embedders.get(req.embedder)
    if (!embedder) return { id: req.id, ok: false, code: 'USAGE', message: `no embedder ${req.embedder} here` }
    opts.touch()
    if (req.op === 'embed') return { id: req.id, ok: true, vectors: await embedder.embed(req.texts) }
    const store = await storeFor(req.embedder)
    // the first reading of every memory is not waited for: until it is done, recall goes without words
    const byWords = wordsFor(store)
    if (!byWords.ready) byWords.warm()
    const results = await recall({
      store,
      embedder,
      ...(byWords.ready ? { words: byWords } : {}),
      query: req.query,
      k: req.k,
      ...(req.session ? { session: req.session } : {}),
    })
    return { id: req.id, ok: true, results, unreadable: store.unreadable() }
  }

  const server = net.createServer((conn) => {
    const lines = createInterface({ input: conn, crlfDelay: Infinity })
    lines.on('line', (line) => {
      let req: ServiceRequest
      try {
        req = JSON.parse(line) as ServiceRequest
      } catch {
        conn.end()
        return
      }
      answer(req)
        .catch((err: unknown): ServiceAnswer => {
          const e = MiradorError.from(err, 'MEMORY_UNAVAILABLE')
          return { id: req.id, ok: false, code: e.code, message: e.message }
        })
        .then((a) => conn.write(JSON.stringify(a) + '\n'))
        .catch(() => conn.destroy())
    })
    conn.on('error', () => conn.destroy())
  })
  rmSync(opts.socket, { force: true })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.socket, () => resolve())
  })
  // only the user: the folder is 0700 already, and the socket itself says so too
  chmodSync(opts.socket, 0o600)
  server.on('error', (err) => opts.log(`memory service: ${err.message}`))
  process.once('exit', () => rmSync(opts.socket, { force: true }))
  opts.log(`memory service listening on ${opts.socket}`)
  return server
}
