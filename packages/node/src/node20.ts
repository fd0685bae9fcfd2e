// Shims for Node 20 (this package supports Node >= 20.19), installed when the package is imported, so users write no
// polyfill of their own. On Node >= 22.19 none of them is installed. This must stay the first import of the package's
// entry points: Helia's dependencies read the patched built-ins while they load.
//
// 1. `Promise.withResolvers` (Node >= 22): libp2p 3's internals (it-queue, mortice, …) call it at run time. The shim
//    follows the spec (ES2024 §27.2.4.7).
// 2. undici 8 (pulled in by Helia through `@libp2p/http`, engines >= 22.19) reads two built-ins as it loads, and
//    without them throws before any code of ours runs (`Cannot read properties of undefined (reading 'bind')`):
//    - `zlib.createZstdDecompress` (Node >= 22.15) — undici binds it for `Content-Encoding: zstd` responses. Betar
//      never fetches over HTTP with Helia; should anything ask for a zstd stream, the stub throws a clear error
//      instead (no zstd decoder exists before Node 22.15).
//    - `worker_threads.markAsUncloneable` (Node >= 22.10) — marks objects `postMessage` must refuse to clone; a
//      no-op here only lets such an object be cloned into a plain one, as every Node before 22.10 did.
import { createRequire, syncBuiltinESMExports } from 'node:module'

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(this: PromiseConstructor) {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new this<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })
}

const require = createRequire(import.meta.url)
const zlib = require('node:zlib') as Record<string, unknown>
const workerThreads = require('node:worker_threads') as Record<string, unknown>
let patched = false
if (typeof zlib.createZstdDecompress !== 'function') {
  zlib.createZstdDecompress = function createZstdDecompress(): never {
    throw new Error(`zstd decompression needs Node.js >= 22.15 (this is ${process.version})`)
  }
  patched = true
}
if (typeof workerThreads.markAsUncloneable !== 'function') {
  workerThreads.markAsUncloneable = function markAsUncloneable(_value: object): void {}
  patched = true
}
// Keeps `import { … } from 'node:zlib'` in ES modules in step with the CommonJS objects patched above.
if (patched) syncBuiltinESMExports()
