import { join } from 'node:path'
import { DataDirInUseError, openLevelDatastore } from '@betar/node/utils'
import type { LevelDatastore } from 'datastore-level'
import { CliError } from './errors.ts'

/**
 * Opens `<dataDir>/datastore` for a command that only reads it. Throws `DataDirInUseError` when a running node holds
 * it, other errors as they are.
 */
export function openDataDirDatastore(dataDir: string): Promise<LevelDatastore> {
  return openLevelDatastore(join(dataDir, 'datastore'))
}

/**
 * {@link openDataDirDatastore} for a CLI command: a data dir held by a running node is a {@link CliError} naming the
 * REST route (`route`, e.g. `GET /sales`) that answers the same question meanwhile.
 */
export async function openDataDirForCommand(dataDir: string, route: string): Promise<LevelDatastore> {
  try {
    return await openDataDirDatastore(dataDir)
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      throw new CliError(`the data dir ${dataDir} is in use by another betar process: use its ${route}`)
    }
    throw err
  }
}
