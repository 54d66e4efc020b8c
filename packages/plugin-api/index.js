// Mirador's own modules, not a copy: a plugin's MiradorError is the engine's class, and its
// validatePluginOptions checks options exactly as the built-ins' are checked. The source and the
// list of what is public is src/engine/plugin-api.ts; the types beside this file (dist/) are
// generated from it by Mirador's `npm run build`.
export * from '../../dist/engine/plugin-api.js'
