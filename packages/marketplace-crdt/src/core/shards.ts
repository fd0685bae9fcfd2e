import * as Y from 'yjs'
import { LISTINGS_MAP } from './validate.ts'

/**
 * Most Yjs documents a store's entries are spread over, by client id. Every entry key has its own Yjs client, and a Yjs
 * transaction walks the whole state vector of its document several times (`getStateVector` in `Transaction`, in cleanup
 * and in `writeClientsStructs`): measured on the reference machine, one small update to a document of 100,000 clients
 * takes 60–110 ms, against 0.1 ms at 1,000. The wire format is unchanged: an update is a plain Yjs v1 update, split by
 * client on the way in and merged on the way out.
 */
export const SHARDS = 64
/**
 * A shard splits in eight once it holds more keys than this: an update costs one transaction per shard it touches, so a
 * small replica applies a catalogue of 100 listings in one transaction instead of ~64 (100 nodes converging on 1,000
 * listings spent ≈ 2 s of CPU in per-shard transactions), while a large one keeps its documents small. One split moves
 * ≈ 2,048 keys (≈ 20 ms on the reference machine with ~0.8 KB records, 70–95 ms with 16 KiB ones), so it runs in steps
 * of a few milliseconds (`EntryStore`); splitting a whole store of 16,384 keys at once held the event loop 134 ms.
 */
export const KEYS_PER_SHARD = 2_048
const SPLIT = 8

/** One Yjs document of a store: the clients `c` with `c % modulus === residue`. */
export interface Shard {
  /** Stable across restarts (a persisted part's number): 0 for the whole store, 1–8 for modulus 8, 9–72 for 64. */
  readonly id: number
  readonly modulus: number
  readonly residue: number
  readonly doc: Y.Doc
  readonly map: Y.Map<Uint8Array>
}

const idOf = (modulus: number, residue: number): number =>
  modulus === 1 ? 0 : modulus === SPLIT ? 1 + residue : 9 + residue

/** Keep the signed content of a key's last entry even once it is deleted (see `EntryStore`). */
const gcFilter = (item: Y.Item): boolean =>
  !(item.parentSub != null && item.right == null && item.content instanceof Y.ContentBinary)

/**
 * Which document holds which client: residue classes modulo 1, 8 or 64 ({@link SHARDS}), each split on its own as it
 * fills (a class modulo 8 splits into the eight classes modulo 64 it contains).
 */
export class ShardLayout {
  /** For each residue modulo 64: the shard holding its clients. */
  private readonly byResidue: Shard[]
  private readonly live = new Map<number, Shard>()
  private readonly resting: number

  constructor(restingClientId: number) {
    this.resting = restingClientId
    const root = this.create(1, 0)
    this.live.set(root.id, root)
    this.byResidue = Array.from({ length: SHARDS }, () => root)
  }

  private create(modulus: number, residue: number): Shard {
    const doc = new Y.Doc({ gc: true, gcFilter })
    doc.clientID = this.resting
    return { id: idOf(modulus, residue), modulus, residue, doc, map: doc.getMap<Uint8Array>(LISTINGS_MAP) }
  }

  /** The shard holding `client`. */
  of(client: number): Shard {
    return this.byResidue[client % SHARDS] as Shard
  }

  /** A live shard by id; `undefined` once it was split. */
  get(id: number): Shard | undefined {
    return this.live.get(id)
  }

  /** The live shards. */
  shards(): IterableIterator<Shard> {
    return this.live.values()
  }

  /** A shard holding more than {@link KEYS_PER_SHARD} keys that can still split. */
  overfull(): Shard | undefined {
    for (const shard of this.live.values()) {
      if (shard.modulus < SHARDS && shard.doc.store.clients.size > KEYS_PER_SHARD) return shard
    }
    return undefined
  }

  /**
   * The eight (empty) shards of `shard`'s class modulo 8× its modulus, not in use yet: the caller fills them (a split
   * runs in steps, see `EntryStore`), then puts them in its place with {@link replace}.
   */
  children(shard: Shard): Shard[] {
    const modulus = shard.modulus * SPLIT
    return Array.from({ length: SPLIT }, (_, k) => this.create(modulus, shard.residue + k * shard.modulus))
  }

  /** Puts the {@link children} of `shard` in its place: from now on they hold its clients. */
  replace(shard: Shard, children: readonly Shard[]): void {
    this.live.delete(shard.id)
    for (const child of children) this.live.set(child.id, child)
    for (let r = 0; r < SHARDS; r++) {
      if (r % shard.modulus === shard.residue)
        this.byResidue[r] = children.find((c) => r % c.modulus === c.residue) as Shard
    }
  }
}
