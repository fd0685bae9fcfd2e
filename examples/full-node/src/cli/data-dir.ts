import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'

/** Another process (a running `betar start`) holds the data dir's LevelDB lock. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError'
}

/**
 * Opens `<dataDir>/datastore` for a command that only reads it. Throws {@link DataDirLockedError} when a running node
 * holds it (LevelDB allows one process), other errors as they are.
 */
export async function openDataDirDatastore(dataDir: string): Promise<LevelDatastore> {
  const datastore = new LevelDatastore(join(dataDir, 'datastore'))
  try {
    await datastore.open()
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    if (/lock/i.test(message))
      throw new DataDirLockedError(`the data dir ${dataDir} is in use by another betar process`)
    throw err
  }
  return datastore
}
