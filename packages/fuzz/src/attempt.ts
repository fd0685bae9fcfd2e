/**
 * Runs one decoder of a target that feeds an input to several (e.g. every message type of a protocol): its result, or
 * `undefined` when it refused the input with its typed error. Anything else is rethrown, and the engine counts it as
 * an untyped error.
 */
export function attempt<T>(decode: () => T, isTyped: (err: unknown) => boolean): T | undefined {
  try {
    return decode()
  } catch (err) {
    if (isTyped(err)) return undefined
    throw err
  }
}

/** The same for an asynchronous decoder. */
export async function attemptAsync<T>(
  decode: () => Promise<T>,
  isTyped: (err: unknown) => boolean
): Promise<T | undefined> {
  try {
    return await decode()
  } catch (err) {
    if (isTyped(err)) return undefined
    throw err
  }
}

/** An `isTyped` for error classes, by `name` (which survives duplicate package copies, unlike `instanceof`). */
export function typedBy(...names: string[]): (err: unknown) => boolean {
  const set = new Set(names)
  return (err) => err instanceof Error && set.has(err.name)
}
