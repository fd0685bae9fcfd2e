/** A task that takes a few seconds: long enough to kill its seller while it runs. */
export default async function slowUpper(input) {
  await new Promise((resolve) => setTimeout(resolve, 3000))
  return { upper: String(input).toUpperCase() }
}
