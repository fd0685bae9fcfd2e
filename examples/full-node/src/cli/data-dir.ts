import { join } from 'node:path'
import type { LevelDatastore } from 'datastore-level'
import { openLevelDatastore } from '../level.ts'

/**
 * Opens `<dataDir>/datastore` for a command that only reads it. Throws `DataDirInUseError` when a running node holds
 * it, other errors as they are.
 */
export function openDataDirDatastore(dataDir: string): Promise<LevelDatastore> {
  return openLevelDatastore(join(dataDir, 'datastore'))
}
