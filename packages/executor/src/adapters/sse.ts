/**
 * Splits a byte stream of server-sent events into the payloads of its `data:` lines (one per event; multi-line data
 * joined with `\n`). Stops after `maxBytes` total with `onTooLarge`'s error.
 */
export async function* sseData(
  body: AsyncIterable<Uint8Array>,
  maxBytes: number,
  onTooLarge: () => Error
): AsyncGenerator<string, void> {
  const decoder = new TextDecoder()
  let buffer = ''
  let total = 0
  let data: string[] = []
  for await (const chunk of body) {
    total += chunk.byteLength
    if (total > maxBytes) throw onTooLarge()
    buffer += decoder.decode(chunk, { stream: true })
    let newline = buffer.indexOf('\n')
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '')
      buffer = buffer.slice(newline + 1)
      if (line === '') {
        if (data.length > 0) yield data.join('\n')
        data = []
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''))
      }
      newline = buffer.indexOf('\n')
    }
  }
  buffer += decoder.decode()
  if (buffer.startsWith('data:')) data.push(buffer.slice(5).replace(/^ /, ''))
  if (data.length > 0) yield data.join('\n')
}
