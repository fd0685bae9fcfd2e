import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiToken } from '../api/index.ts'

/**
 * The REST API's bearer token: `BETAR_API_TOKEN`, else `<dataDir>/api-token`, created (mode 0600) on first use.
 * It is never printed; local apps read it from the file or the environment.
 */
export async function apiToken(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env.BETAR_API_TOKEN
  if (fromEnv != null && fromEnv.length > 0) return fromEnv
  const file = join(dataDir, 'api-token')
  try {
    const token = (await readFile(file, 'utf8')).trim()
    if (token.length >= 16) return token
  } catch {
    // first start: create it below
  }
  await mkdir(dataDir, { recursive: true })
  const token = createApiToken()
  await writeFile(file, `${token}\n`, { mode: 0o600 })
  await chmod(file, 0o600)
  return token
}
