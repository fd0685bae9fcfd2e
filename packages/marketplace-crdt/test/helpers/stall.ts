/** Measures how long the event loop is held: the longest gap between two consecutive turns. */
export function watchEventLoop(): { stop(): number } {
  let worst = 0
  let last = performance.now()
  let running = true
  const turn = () => {
    const now = performance.now()
    worst = Math.max(worst, now - last)
    last = now
    if (running) setImmediate(turn)
  }
  setImmediate(turn)
  return {
    stop: () => {
      running = false
      // The work since the last turn counts too (it may have run without ever yielding).
      return Math.round(Math.max(worst, performance.now() - last) * 10) / 10
    }
  }
}

/**
 * Runs `query` every `everyMs` while something else happens, and records the worst latency of an answer (from when the
 * query was due until it returned: what a caller waits) and the worst duration of the call itself.
 */
export function probeQuery(
  query: () => unknown,
  everyMs = 5
): { stop(): { worstLatencyMs: number; worstCallMs: number; calls: number } } {
  let worstLatency = 0
  let worstCall = 0
  let calls = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const schedule = () => {
    const due = performance.now() + everyMs
    timer = setTimeout(() => {
      const start = performance.now()
      query()
      const end = performance.now()
      calls++
      worstCall = Math.max(worstCall, end - start)
      worstLatency = Math.max(worstLatency, end - due)
      schedule()
    }, everyMs)
  }
  schedule()
  return {
    stop: () => {
      clearTimeout(timer)
      return { worstLatencyMs: Math.round(worstLatency), worstCallMs: Math.round(worstCall * 10) / 10, calls }
    }
  }
}
