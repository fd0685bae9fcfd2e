const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

type Column = Float64Array | Uint32Array | Uint8Array

/** `column`, or a copy of it with room for index `n`. */
function room<C extends Column>(column: C, n: number): C {
  if (n < column.length) return column
  const grown = new (column.constructor as new (length: number) => C)(Math.max(n + 1, column.length * 2))
  grown.set(column)
  return grown
}

const DELETED = 1
const STATES_KEY = 2

/**
 * An update's structure, as read from its bytes: struct groups (one per client), structs and delete ranges, held in
 * columns of numbers (typed arrays) rather than an object per struct — a hostile update of 200,000 structs leaves a few
 * arrays to the garbage collector, not 200,000 objects to trace while it is being checked. Keys and records are views
 * into the update's bytes, read on demand.
 */
export class ScannedUpdate {
  readonly update: Uint8Array
  /** Number of struct groups, structs and delete ranges. */
  groups = 0
  structs = 0
  ranges = 0
  private gClient = new Float64Array(16)
  private gClock = new Float64Array(16)
  private gFirst = new Uint32Array(16)
  private gCount = new Uint32Array(16)
  private sClient = new Float64Array(64)
  private sClock = new Float64Array(64)
  private sLength = new Float64Array(64)
  private sOriginClient = new Float64Array(64)
  private sOriginClock = new Float64Array(64)
  private sFlags = new Uint8Array(64)
  private sStart = new Uint32Array(64)
  private sEnd = new Uint32Array(64)
  private sKeyStart = new Uint32Array(64)
  private sKeyEnd = new Uint32Array(64)
  private sBinStart = new Uint32Array(64)
  private sBinEnd = new Uint32Array(64)
  private rClient = new Float64Array(16)
  private rClock = new Float64Array(16)
  private rLen = new Float64Array(16)

  constructor(update: Uint8Array) {
    this.update = update
  }

  /** The client of group `g`. */
  groupClient(g: number): number {
    return this.gClient[g] as number
  }

  /** Clock of the first struct of group `g`. */
  groupClock(g: number): number {
    return this.gClock[g] as number
  }

  /** Index of the first struct of group `g`. */
  groupFirst(g: number): number {
    return this.gFirst[g] as number
  }

  /** Index after the last struct of group `g`. */
  groupEnd(g: number): number {
    return (this.gFirst[g] as number) + (this.gCount[g] as number)
  }

  client(i: number): number {
    return this.sClient[i] as number
  }

  clock(i: number): number {
    return this.sClock[i] as number
  }

  length(i: number): number {
    return this.sLength[i] as number
  }

  /** The clock after struct `i`. */
  next(i: number): number {
    return (this.sClock[i] as number) + (this.sLength[i] as number)
  }

  /** ContentDeleted (superseded history) rather than a signed record. */
  deleted(i: number): boolean {
    return ((this.sFlags[i] as number) & DELETED) !== 0
  }

  /** Client of the item to the left when struct `i` was written; -1 without origin. */
  originClient(i: number): number {
    return this.sOriginClient[i] as number
  }

  originClock(i: number): number {
    return this.sOriginClock[i] as number
  }

  /** The map key, stated only by an item without origin (the first of its chain). */
  key(i: number): string | undefined {
    if (((this.sFlags[i] as number) & STATES_KEY) === 0) return undefined
    return utf8.decode(this.update.subarray(this.sKeyStart[i], this.sKeyEnd[i]))
  }

  /** The signed record a struct holds (a view into the update). */
  binary(i: number): Uint8Array | undefined {
    return this.deleted(i) ? undefined : this.update.subarray(this.sBinStart[i], this.sBinEnd[i])
  }

  /** Byte range of struct `i` in the update. */
  start(i: number): number {
    return this.sStart[i] as number
  }

  end(i: number): number {
    return this.sEnd[i] as number
  }

  rangeClient(r: number): number {
    return this.rClient[r] as number
  }

  rangeClock(r: number): number {
    return this.rClock[r] as number
  }

  rangeLen(r: number): number {
    return this.rLen[r] as number
  }

  /** @internal */
  addGroup(client: number, clock: number, first: number, count: number): void {
    const g = this.groups++
    this.gClient = room(this.gClient, g)
    this.gClock = room(this.gClock, g)
    this.gFirst = room(this.gFirst, g)
    this.gCount = room(this.gCount, g)
    this.gClient[g] = client
    this.gClock[g] = clock
    this.gFirst[g] = first
    this.gCount[g] = count
  }

  /** @internal `key` and `bin` are byte ranges of the update ([start, end]), or undefined. */
  addStruct(
    client: number,
    clock: number,
    length: number,
    deleted: boolean,
    originClient: number,
    originClock: number,
    key: [number, number] | undefined,
    bin: [number, number] | undefined,
    start: number,
    end: number
  ): void {
    const i = this.structs++
    if (i >= this.sClient.length) {
      for (const name of ['sClient', 'sClock', 'sLength', 'sOriginClient', 'sOriginClock'] as const) {
        this[name] = room(this[name], i)
      }
      for (const name of ['sStart', 'sEnd', 'sKeyStart', 'sKeyEnd', 'sBinStart', 'sBinEnd'] as const) {
        this[name] = room(this[name], i)
      }
      this.sFlags = room(this.sFlags, i)
    }
    this.sClient[i] = client
    this.sClock[i] = clock
    this.sLength[i] = length
    this.sOriginClient[i] = originClient
    this.sOriginClock[i] = originClock
    this.sFlags[i] = (deleted ? DELETED : 0) | (key != null ? STATES_KEY : 0)
    this.sStart[i] = start
    this.sEnd[i] = end
    this.sKeyStart[i] = key?.[0] ?? 0
    this.sKeyEnd[i] = key?.[1] ?? 0
    this.sBinStart[i] = bin?.[0] ?? 0
    this.sBinEnd[i] = bin?.[1] ?? 0
  }

  /** @internal */
  addRange(client: number, clock: number, len: number): void {
    const r = this.ranges++
    this.rClient = room(this.rClient, r)
    this.rClock = room(this.rClock, r)
    this.rLen = room(this.rLen, r)
    this.rClient[r] = client
    this.rClock[r] = clock
    this.rLen[r] = len
  }
}

export interface DeleteRange {
  client: number
  clock: number
  len: number
}
