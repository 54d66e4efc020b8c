/**
 * `memory forget` in the store: the records go, and so does every copy Chroma keeps of them
 * (chroma/purge.ts says what it keeps and how each copy is removed).
 *
 * - some memories: deleted, then the collection is rebuilt from what is left: on the bundled
 *   server, on a private server with the shared one stopped, then vacuumed; on a CHROMA_URL
 *   server through its API only (its files are its owner's: `chroma vacuum` there, with the server
 *   stopped, purges them);
 * - all: the bundled server's data folder is removed; on a CHROMA_URL server the collection is
 *   dropped. The memory key is replaced afterwards (MemoryPlugin), so nothing sealed before can be
 *   opened again even from a copy of the files.
 */
import { CHROMA_URL_ENV } from './chroma/server.js'
import { createChromaStore, type ChromaMemoryStoreApi } from './chroma/store.js'
import { collectionFor } from './open-store.js'
import type { Cipher, MemoryFilter } from './types.js'

export interface ForgetInStoreOptions {
  home: string
  env: NodeJS.ProcessEnv
  cipher: Cipher
  embedderId: string
  /** the store in use */
  store: ChromaMemoryStoreApi
  filter: MemoryFilter
}

/** Forgets what `filter` names and purges it from the store's files; returns how many memories went. */
export async function forgetInStore(o: ForgetInStoreOptions): Promise<number> {
  const external = Boolean(o.env[CHROMA_URL_ENV]?.trim())
  if (o.filter.all) {
    if (external) return o.store.drop()
    const n = await o.store.count()
    const { wipeBundledData } = await import('./chroma/purge.js')
    await wipeBundledData(o.home)
    return n
  }
  const n = await o.store.delete(o.filter)
  if (n === 0) return 0
  await purgeDeleted({ ...o, collection: collectionFor(o.embedderId) })
  return n
}

/**
 * After a delete in `collection`: rebuilds it from what is left (on the bundled server, on a private
 * server with the shared one stopped, then vacuumed; on a CHROMA_URL server through its API), so no
 * copy of what was deleted stays in the store's files. Memories and documents both go through here.
 */
export async function purgeDeleted(o: {
  home: string
  env: NodeJS.ProcessEnv
  cipher: Cipher
  collection: string
  store: ChromaMemoryStoreApi
}): Promise<void> {
  if (o.env[CHROMA_URL_ENV]?.trim()) return o.store.compact()
  const { withPrivateServer } = await import('./chroma/purge.js')
  await withPrivateServer(o.home, o.env, async (server) => {
    const store = await createChromaStore({
      url: server.url,
      token: server.token,
      collection: o.collection,
      cipher: o.cipher,
    })
    await store.compact()
  })
}
