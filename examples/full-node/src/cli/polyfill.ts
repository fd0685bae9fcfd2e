// Node 20 lacks Promise.withResolvers, which libp2p internals (it-queue, mortice) call. The CLI entry imports this
// module first; it lives inside `src` so the build (rootDir `src`) ships it with `dist/cli/bin.js`.
if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const promise = new Promise<T>((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })
}

export {}
