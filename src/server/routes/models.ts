/** `GET /v1/models`: every chain that can be run by name, as an OpenAI model whose id is its name. */
import type { FastifyInstance } from 'fastify'
import type { Engine } from '../../engine/engine.js'

export function modelsRoute(app: FastifyInstance, engine: Engine, startedAt: number): void {
  app.get('/v1/models', async () => {
    const chains = await engine.chains()
    return {
      object: 'list',
      data: chains.map((c) => ({
        id: c.name,
        object: 'model',
        created: startedAt,
        owned_by: 'mirador',
        ...(c.value.description ? { description: c.value.description } : {}),
      })),
    }
  })
}
