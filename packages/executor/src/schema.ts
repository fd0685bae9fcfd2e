import { Ajv, type ValidateFunction } from 'ajv'
import type { JsonSchema } from './types.ts'

const ajv = new Ajv({ allErrors: true, strict: false })
const compiledObjects = new WeakMap<object, ValidateFunction>()
const compiledBooleans = new Map<boolean, ValidateFunction>()

/**
 * The ajv validator of a schema, compiled once per schema object (`allErrors`, unknown keywords allowed).
 * Throws ajv's error if the schema itself is invalid.
 */
export function compileSchema(schema: JsonSchema): ValidateFunction {
  const cache = typeof schema === 'boolean' ? undefined : compiledObjects
  const hit = typeof schema === 'boolean' ? compiledBooleans.get(schema) : cache?.get(schema)
  if (hit != null) return hit
  // A schema with an `$id` already known to ajv (e.g. an equal copy) is reused instead of re-added.
  const id = typeof schema === 'object' && typeof schema.$id === 'string' ? schema.$id : undefined
  const validate = (id != null ? ajv.getSchema(id) : undefined) ?? ajv.compile(schema)
  if (typeof schema === 'boolean') compiledBooleans.set(schema, validate)
  else compiledObjects.set(schema, validate)
  return validate
}

/** Whether a schema is absent or accepts plain strings only (`{ type: 'string' }`). */
export function isTextSchema(schema: JsonSchema | undefined): boolean {
  return schema == null || (typeof schema === 'object' && schema.type === 'string')
}
