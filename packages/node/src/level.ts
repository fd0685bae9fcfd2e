import { LevelDatastore } from 'datastore-level'
import { DataDirInUseError } from './errors.ts'

/**
 * Opens a LevelDB datastore at `path`. Throws {@link DataDirInUseError} when another process holds it (LevelDB allows
 * one), other errors as they are.
 */
export async function openLevelDatastore(path: string): Promise<LevelDatastore> {
  const datastore = new LevelDatastore(path)
  try {
    // Opened through the underlying Level first: `LevelDatastore.open()` rethrows every failure as a bare
    // "Database failed to open", while Level keeps the reason (`cause.code === 'LEVEL_LOCKED'`).
    await datastore.db.open()
  } catch (err) {
    if (isLocked(err)) throw new DataDirInUseError(path)
    throw err
  }
  await datastore.open()
  return datastore
}

function isLocked(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined
  return e?.code === 'LEVEL_LOCKED' || e?.cause?.code === 'LEVEL_LOCKED'
}
