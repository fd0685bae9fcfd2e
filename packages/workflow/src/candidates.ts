import type { Listing } from '@betar/marketplace-crdt'
import { Ajv, type ValidateFunction } from 'ajv'
import type { PlannedStep } from './definition.ts'
import type { ListingSource } from './types.ts'

const ajv = new Ajv({ allErrors: true, strict: false })
const compiled = new Map<string, ValidateFunction | Error>()

/** The errors of `value` against a listing's JSON Schema (empty when it matches or the listing has none). */
export function schemaErrors(schema: Record<string, unknown> | undefined, value: unknown): string[] {
  if (schema == null) return []
  const key = JSON.stringify(schema)
  let validate = compiled.get(key)
  if (validate == null) {
    try {
      validate = ajv.compile(schema)
    } catch (err) {
      validate = err as Error
    }
    // Schemas come from peers' listings: keep the cache bounded.
    if (compiled.size > 256) compiled.clear()
    compiled.set(key, validate)
  }
  if (validate instanceof Error) return [`the listing's inputSchema does not compile: ${validate.message}`]
  if (validate(value)) return []
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(input)'} ${e.message ?? 'is invalid'}`)
}

/** How candidates are chosen. */
export interface CandidateFilter {
  /** Most the step may pay now (its cap, or less when the budget has less left). */
  allowance: bigint
  /** Listings (`<seller>/<id>`) or sellers already tried for the step. */
  exclude: ReadonlySet<string>
  /** This node's peer id (it never buys from itself). */
  self?: string | undefined
  /** The token the node pays in; listings priced in another are skipped. */
  asset?: string | undefined
  /** The resolved input, when known: listings whose `inputSchema` refuses it are skipped. */
  input?: { value: unknown } | undefined
}

/** The listings a step may buy from, best (cheapest, then freshest) first, and why the others were skipped. */
export function candidatesFor(
  step: PlannedStep,
  market: ListingSource,
  filter: CandidateFilter
): { listings: Listing[]; skipped: string[] } {
  let all: Listing[]
  if (step.listing != null) {
    const one = market.get(step.listing)
    all = one != null ? [one] : []
  } else {
    all = market.find({ capability: step.capability! })
  }
  const skipped: string[] = []
  const listings = all
    .filter((l) => {
      const key = `${l.seller}/${l.id}`
      if (l.seller === filter.self || filter.exclude.has(key) || filter.exclude.has(l.seller)) return false
      if (filter.asset != null && l.price.asset.toLowerCase() !== filter.asset.toLowerCase()) {
        skipped.push(`${key}: priced in another asset`)
        return false
      }
      if (BigInt(l.price.amount) > filter.allowance) {
        skipped.push(`${key}: asks ${l.price.amount}, more than the ${filter.allowance} allowed`)
        return false
      }
      if (filter.input != null) {
        const errors = schemaErrors(l.inputSchema, filter.input.value)
        if (errors.length > 0) {
          skipped.push(`${key}: input refused by its schema (${errors.join(', ')})`)
          return false
        }
      }
      return true
    })
    .sort((a, b) => {
      const pa = BigInt(a.price.amount)
      const pb = BigInt(b.price.amount)
      return pa !== pb ? (pa < pb ? -1 : 1) : b.updatedAt - a.updatedAt
    })
  return { listings, skipped }
}
