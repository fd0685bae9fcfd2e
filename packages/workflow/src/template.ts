import { JsonPointerError, parsePointer, resolvePointer } from './pointer.ts'

/**
 * An input template: any JSON value in which an object `{ "$ref": "<JSON pointer>" }` is replaced by the value the
 * pointer names in the workflow context `{ input, steps: { <id>: { output } } }`, e.g. `{ "$ref": "/input/text" }` or
 * `{ "$ref": "/steps/stats/output/summary" }`. `{ "$literal": v }` stands for `v` unchanged (to send a `$ref` member).
 */
export type Template = unknown

/** What templates resolve against. */
export interface TemplateContext {
  input: unknown
  steps: Record<string, { output: unknown }>
}

/** A `$ref` found in a template. */
export interface TemplateRef {
  pointer: string
  /** The step whose output it reads, or `undefined` for the workflow input. */
  step?: string
}

function isRef(value: unknown): value is { $ref: string } {
  return (
    value != null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as { $ref?: unknown }).$ref === 'string'
  )
}

function isLiteral(value: unknown): value is { $literal: unknown } {
  return (
    value != null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    Object.hasOwn(value, '$literal')
  )
}

/** Every `$ref` of a template, with the step it reads; throws {@link JsonPointerError} for a pointer outside the context. */
export function templateRefs(template: Template): TemplateRef[] {
  const refs: TemplateRef[] = []
  const visit = (value: unknown): void => {
    if (isLiteral(value)) return
    if (isRef(value)) {
      const tokens = parsePointer(value.$ref)
      if (tokens[0] === 'input') refs.push({ pointer: value.$ref })
      else if (tokens[0] === 'steps' && tokens[1] != null && tokens[2] === 'output') {
        refs.push({ pointer: value.$ref, step: tokens[1] })
      } else {
        throw new JsonPointerError(value.$ref, 'must start with /input or /steps/<id>/output')
      }
      return
    }
    if (Array.isArray(value)) for (const v of value) visit(v)
    else if (value != null && typeof value === 'object') for (const v of Object.values(value)) visit(v)
  }
  visit(template)
  return refs
}

/** The template with each `$ref` replaced by the value it names (throws {@link JsonPointerError} when one is missing). */
export function resolveTemplate(template: Template, context: TemplateContext): unknown {
  if (isLiteral(template)) return template.$literal
  if (isRef(template)) return resolvePointer(context, template.$ref)
  if (Array.isArray(template)) return template.map((v) => resolveTemplate(v, context))
  if (template != null && typeof template === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(template)) {
      Object.defineProperty(out, k, {
        value: resolveTemplate(v, context),
        enumerable: true,
        writable: true,
        configurable: true
      })
    }
    return out
  }
  return template
}

/** Nesting depth of a JSON value, stopping (and returning `limit + 1`) as soon as it passes `limit`. */
export function depthOf(value: unknown, limit: number): number {
  let max = 0
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (v == null || typeof v !== 'object') continue
    if (d + 1 > max) max = d + 1
    if (max > limit) return limit + 1
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1])
  }
  return max
}
