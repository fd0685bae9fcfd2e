import { exceedsValueDepth } from '@betar/bounded-json'
import { type FuzzTarget, typedBy } from '@betar/fuzz'
import { MAX_REGISTRATIONS, MAX_SERVICES } from '../../src/constants.ts'
import { decodeRegistrationFile, type RegistrationFile } from '../../src/registration-file.ts'
import { registrationSeeds } from './seeds.ts'

export const isIdentityError = typedBy(
  'InvalidRegistrationFileError',
  'RegistrationFileTooLargeError',
  'UnsupportedAgentUriError',
  'AgentFileUnavailableError'
)

/** Length in code points, as zod counts it. */
const chars = (s: string): number => [...s].length

/** The draft's bounds, checked again on an accepted file (independently of the zod schema). */
export function fileViolation(f: RegistrationFile): string | undefined {
  if (f.type !== 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1') return 'type'
  if (typeof f.name !== 'string' || chars(f.name) < 1 || chars(f.name) > 256) return 'name'
  if (typeof f.description !== 'string' || chars(f.description) > 16_384) return 'description'
  if (!Array.isArray(f.services) || f.services.length > MAX_SERVICES) return 'services'
  for (const s of f.services) {
    if (typeof s.name !== 'string' || chars(s.name) < 1 || chars(s.name) > 64) return 'service name'
    if (typeof s.endpoint !== 'string' || chars(s.endpoint) > 2048) return 'service endpoint'
  }
  if (!Array.isArray(f.registrations) || f.registrations.length > MAX_REGISTRATIONS) return 'registrations'
  for (const r of f.registrations) {
    if (!/^eip155:[0-9]{1,12}:0x[0-9a-fA-F]{40}$/.test(r.agentRegistry)) return 'agentRegistry'
    if (
      typeof r.agentId === 'number'
        ? !Number.isSafeInteger(r.agentId) || r.agentId < 0
        : !/^(0|[1-9][0-9]{0,77})$/.test(r.agentId)
    )
      return 'agentId'
  }
  if (exceedsValueDepth(f, 64)) return 'nests deeper than the bound'
  JSON.stringify(f) // stored, hashed and served again: must re-encode
  return undefined
}

/** ERC-8004 registration files from their bytes (`decodeRegistrationFile`). */
export const registrationFile: FuzzTarget = {
  name: 'identity-registration-file',
  cost: 'heavy',
  formats: ['json'],
  maxLength: 80 * 1024,
  seeds: registrationSeeds,
  run: (input) => decodeRegistrationFile(input),
  isTyped: isIdentityError,
  check: (_, file) => fileViolation(file as RegistrationFile)
}
