import { BaseLlm, type BaseLlmConnection, type LlmRequest, type LlmResponse } from '@google/adk'

/**
 * An offline model: asks for `get_price` once, then answers with text quoting the tool result and the last user
 * message (without tools it answers at once). Records what it receives; in streaming mode sends the answer in two partial chunks first.
 */
export class ScriptedLlm extends BaseLlm {
  static override readonly supportedModels = [/^scripted-.*/]
  /** The `contents` of every request, as plain JSON. */
  readonly requests: unknown[][] = []

  constructor() {
    super({ model: 'scripted-v1' })
  }

  async *generateContentAsync(req: LlmRequest, stream?: boolean): AsyncGenerator<LlmResponse, void> {
    this.requests.push(JSON.parse(JSON.stringify(req.contents)) as unknown[])
    const last = req.contents.at(-1)
    const fr = last?.parts?.find((p) => p.functionResponse)?.functionResponse
    if (Object.keys(req.toolsDict).length === 0) {
      // No tools: answer directly, showing the system instruction it got.
      const text = `${String(req.config?.systemInstruction ?? '')} | ${last?.parts?.[0]?.text ?? ''}`
      yield { content: { role: 'model', parts: [{ text }] }, turnComplete: true }
      return
    }
    if (fr == null) {
      yield {
        content: {
          role: 'model',
          parts: [{ functionCall: { id: 'c1', name: 'get_price', args: { symbol: 'USDC' } } }]
        },
        turnComplete: true
      }
      return
    }
    const question = [...req.contents]
      .reverse()
      .find((c) => c.role === 'user' && c.parts?.some((p) => p.text != null))
      ?.parts?.find((p) => p.text != null)?.text
    const text = `price is ${JSON.stringify(fr.response)} for "${question ?? ''}"`
    if (stream === true) {
      const half = Math.floor(text.length / 2)
      yield { content: { role: 'model', parts: [{ text: text.slice(0, half) }] }, partial: true }
      yield { content: { role: 'model', parts: [{ text: text.slice(half) }] }, partial: true }
    }
    yield { content: { role: 'model', parts: [{ text }] }, turnComplete: true }
  }

  async connect(_: LlmRequest): Promise<BaseLlmConnection> {
    throw new Error('no live')
  }
}
