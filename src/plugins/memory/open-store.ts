/**
 * Opens the memory store: the Chroma server (CHROMA_URL's, or the shared bundled one, started if
 * needed) and the collection of the embedder in use: vectors of different embedders never mix.
 * Imported only when memory is first used: the chromadb client is heavy.
 */
import { MiradorError } from '../../engine/errors.js'
import { ensureChromaServer, knownChromaServer, touchChromaServer } from './chroma/server.js'
import { createChromaStore, type ChromaMemoryStoreApi } from './chroma/store.js'
import type { Cipher } from './types.js'

export function collectionFor(embedderId: string): string {
  const slug = embedderId
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '')
  return `mirador-${slug}`.slice(0, 63)
}

export async function openStore(opts: {
  home: string
  env: NodeJS.ProcessEnv
  cipher: Cipher
  embedderId: string
  /** default the embedder's memory collection (`collectionFor`); documents have their own */
  collection?: string
  /** where the sealed text goes (chroma/store.ts) */
  sealedText?: 'document' | 'metadata'
  onProgress?: (message: string) => void
  /** told when this call started the bundled server itself (it did not find one running) */
  onStarted?: () => void
}): Promise<ChromaMemoryStoreApi> {
  const ensure = () =>
    ensureChromaServer({
      home: opts.home,
      env: opts.env,
      ...(opts.onProgress ? { onProgress: (s: { message: string }) => opts.onProgress!(s.message) } : {}),
    })
  const open = (server: { url: string; token?: string | undefined }) =>
    createChromaStore({
      url: server.url,
      ...(server.token ? { token: server.token } : {}),
      collection: opts.collection ?? collectionFor(opts.embedderId),
      cipher: opts.cipher,
      ...(opts.sealedText ? { sealedText: opts.sealedText } : {}),
      onUse: () => touchChromaServer(opts.home),
      reconnect: ensure,
    })
  // the server a run before this one left running: straight to it, the first request is the check
  const known = await knownChromaServer(opts.home, opts.env)
  if (known) {
    try {
      const store = await open(known)
      void touchChromaServer(opts.home, { force: true })
      return store
    } catch (err) {
      if (!(MiradorError.is(err) && err.details?.connection === true)) throw err
    }
  }
  const server = await ensure()
  if (server.started) opts.onStarted?.()
  return open(server)
}
