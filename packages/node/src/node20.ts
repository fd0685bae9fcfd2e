// Node 20 lacks `Promise.withResolvers` (Node >= 22), which libp2p 3's internals (it-queue, mortice, …) call at run
// time. Importing this package installs a spec-conforming shim when it is missing, so Node 20 users need no polyfill
// of their own; on Node 22+ it does nothing. It must stay the first import of the package's entry points.
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

export {}
