import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'

/**
 * With BENCH_CPUPROFILE=<dir>, writes a V8 CPU profile of the main thread over a measured window
 * (`<dir>/<name>.cpuprofile`, open it in Chrome DevTools); otherwise does nothing.
 */
export async function profileWindow(name: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_CPUPROFILE
  if (dir == null || dir === '') return async () => {}
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 500 })
  await session.post('Profiler.start')
  return async () => {
    const { profile } = await session.post('Profiler.stop')
    writeFileSync(`${dir}/${name}.cpuprofile`, JSON.stringify(profile))
    session.disconnect()
  }
}
