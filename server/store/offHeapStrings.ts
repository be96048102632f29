/**
 * Strings with an expiry, kept outside the V8 heap: in slabs of
 * `Buffer.allocUnsafeSlow` memory, addressed by a number (a handle).
 *
 * Why: the memory store's sessions are long-lived strings, and a large
 * old generation makes every young-generation collection of a request's
 * garbage slower (measured with `bench/run.ts`'s 1k-vs-1M read: with a
 * million sealed records on the heap the scavenges took 3–4× longer and
 * CPU per read rose by ~15 %; with the records here, the heap holds only
 * the keys and handles). The garbage collector never walks these bytes.
 *
 * Each string lives in one slot of a size class (slots of 64 bytes up to
 * 16 MiB, spaced by ×1.5 and ×4/3 so at most a third is waste); a freed slot
 * is reused by the next string of its class. Slabs are never returned to the
 * system: like a `malloc` arena, the memory stays with the process at its
 * high-water mark.
 *
 * Slot layout: expiry (float64, epoch ms; Infinity = never), byte length
 * (uint32), encoding (uint8: latin1 when every code unit fits one byte, so
 * the common ASCII value costs a byte a character, else UTF-16LE, which
 * keeps any JS string exactly, lone surrogates included), then the bytes.
 */

const HEADER_BYTES = 16;
const LATIN1 = 0;
const UTF16 = 1;
const SLAB_BYTES = 1 << 20;
const NOT_LATIN1 = /[\u0100-\uffff]/;

function sizeClasses(): number[] {
  const sizes: number[] = [];
  for (let size = 64; size <= 1 << 24; size *= 2) sizes.push(size, (size * 3) / 2);
  return sizes;
}
const SIZES = sizeClasses();
const CLASS_COUNT = SIZES.length;

interface SizeClass {
  readonly slotBytes: number;
  readonly slotsPerSlab: number;
  readonly slabs: Buffer[];
  /** Slots freed and ready for reuse. */
  readonly free: number[];
  /** The next slot never handed out. */
  next: number;
}

export class OffHeapStrings {
  readonly #classes: SizeClass[] = SIZES.map((slotBytes) => ({
    slotBytes,
    slotsPerSlab: Math.max(1, Math.floor(SLAB_BYTES / slotBytes)),
    slabs: [],
    free: [],
    next: 0,
  }));

  /** Stores `value` until `expires` (epoch ms) and returns its handle. */
  put(value: string, expires: number): number {
    const encoding = NOT_LATIN1.test(value) ? UTF16 : LATIN1;
    const length = encoding === LATIN1 ? value.length : value.length * 2;
    const classIndex = classFor(HEADER_BYTES + length);
    const sizeClass = this.#classes[classIndex]!;
    const slot = sizeClass.free.pop() ?? sizeClass.next++;
    const { slab, offset } = this.#locate(sizeClass, slot, true);
    slab.writeDoubleLE(expires, offset);
    slab.writeUInt32LE(length, offset + 8);
    slab[offset + 12] = encoding;
    slab.write(value, offset + HEADER_BYTES, length, encoding === LATIN1 ? 'latin1' : 'utf16le');
    return slot * CLASS_COUNT + classIndex;
  }

  get(handle: number): string {
    const { slab, offset } = this.#at(handle);
    const start = offset + HEADER_BYTES;
    const end = start + slab.readUInt32LE(offset + 8);
    return slab.toString(slab[offset + 12] === LATIN1 ? 'latin1' : 'utf16le', start, end);
  }

  expires(handle: number): number {
    const { slab, offset } = this.#at(handle);
    return slab.readDoubleLE(offset);
  }

  /** Gives the handle's slot back; the handle must not be used again. */
  free(handle: number): void {
    const classIndex = handle % CLASS_COUNT;
    this.#classes[classIndex]!.free.push((handle - classIndex) / CLASS_COUNT);
  }

  /** Drops every slab (the store is closed). */
  clear(): void {
    for (const sizeClass of this.#classes) {
      sizeClass.slabs.length = 0;
      sizeClass.free.length = 0;
      sizeClass.next = 0;
    }
  }

  #at(handle: number): { slab: Buffer; offset: number } {
    const classIndex = handle % CLASS_COUNT;
    return this.#locate(this.#classes[classIndex]!, (handle - classIndex) / CLASS_COUNT, false);
  }

  #locate(sizeClass: SizeClass, slot: number, grow: boolean): { slab: Buffer; offset: number } {
    const slabIndex = Math.floor(slot / sizeClass.slotsPerSlab);
    let slab = sizeClass.slabs[slabIndex];
    if (slab === undefined) {
      if (!grow) throw new Error(`OffHeapStrings: no slot ${slot} (a handle used after free or clear)`);
      slab = Buffer.allocUnsafeSlow(sizeClass.slotsPerSlab * sizeClass.slotBytes);
      sizeClass.slabs.push(slab);
    }
    return { slab, offset: (slot % sizeClass.slotsPerSlab) * sizeClass.slotBytes };
  }
}

function classFor(bytes: number): number {
  for (let i = 0; i < CLASS_COUNT; i += 1) if (SIZES[i]! >= bytes) return i;
  throw new RangeError(`the memory store keeps values up to ${SIZES[CLASS_COUNT - 1]! - HEADER_BYTES} bytes, not ${bytes - HEADER_BYTES}`);
}
