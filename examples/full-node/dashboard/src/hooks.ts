import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { ApiFailure } from './api.ts'

/** The state of a polled request: its data, its last error, and a way to load it again now. */
export interface Polled<T> {
  data: T | undefined
  error: ApiFailure | undefined
  loading: boolean
  reload: () => void
}

/** Runs `load` now, whenever `deps` change, and every `intervalMs` (0: never again) while the page is shown. */
export function usePolled<T>(load: () => Promise<T>, deps: unknown[], intervalMs = 3000): Polled<T> {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<ApiFailure>()
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load

  useEffect(() => {
    let cancelled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const run = async () => {
      try {
        const value = await loadRef.current()
        if (cancelled) return
        setData(value)
        setError(undefined)
      } catch (err) {
        if (cancelled) return
        setError(err instanceof ApiFailure ? err : new ApiFailure(0, 'Error', String(err)))
      } finally {
        if (!cancelled) {
          setLoading(false)
          if (intervalMs > 0) timer = setTimeout(run, intervalMs)
        }
      }
    }
    void run()
    return () => {
      cancelled = true
      if (timer != null) clearTimeout(timer)
    }
  }, [...deps, tick])

  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, reload }
}
