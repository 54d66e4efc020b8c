/** The Fastify app `mirador serve` listens with: the guard, the routes, errors in OpenAI's shape. */
import Fastify, { type FastifyInstance } from 'fastify'
import type { Engine } from '../engine/engine.js'
import { servedModels, type Served } from './catalog.js'
import { apiError, frameworkError } from './errors.js'
import { corsHeaders, guard, type GuardOptions } from './guard.js'
import { chatCompletionsRoute } from './routes/chat-completions.js'
import { embeddingsRoute } from './routes/embeddings.js'
import { modelsRoute } from './routes/models.js'
import { runPool } from './runs.js'

export interface AppOptions extends Omit<GuardOptions, 'port'> {
  engine: Engine
  /** the manifest's model names, served as `model/NAME` */
  manifestModels?: () => Promise<string[]>
  /** runs at once; more get 429 */
  concurrency: number
  timeoutMs: number
}

/** a chat request is a few messages: a megabyte is plenty and bounds what a client can make us parse */
export const BODY_LIMIT = 1024 * 1024

export function buildApp(o: AppOptions): FastifyInstance {
  // Ctrl-C ends the streams going too: their runs stop with their connections
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false, forceCloseConnections: true })
  const port = (): number => {
    const a = app.server.address()
    return typeof a === 'object' && a ? a.port : 0
  }
  app.addHook('onRequest', guard({ ...o, port }))
  app.setErrorHandler((err, _req, reply) => {
    const { status, body } = frameworkError(err instanceof Error ? err : new Error(String(err)))
    void reply.code(status).send(body)
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(apiError(404, `no route ${req.method} ${req.url.split('?')[0]}`, 'not_found'))
  })
  // read once, as the chains are: a restart serves what changed
  let served: Promise<Served[]> | undefined
  const catalog = (): Promise<Served[]> =>
    (served ??= Promise.all([o.engine.chains(), o.manifestModels?.() ?? []]).then(([c, m]) => servedModels(c, m)))
  modelsRoute(app, catalog, Math.floor(Date.now() / 1000))
  chatCompletionsRoute(app, {
    served: catalog,
    pool: runPool(o.engine, o.concurrency),
    timeoutMs: o.timeoutMs,
    streamHeaders: (req) => corsHeaders(req.headers.origin, o.origins),
  })
  embeddingsRoute(app, o.engine)
  return app
}
