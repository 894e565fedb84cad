import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/**
 * The one source of randomness of a chaos run, derived from its seed. Separate streams (`fork`)
 * keep the order plan and each fault lane independent: adding a fault kind does not reshuffle
 * the orders of a given seed.
 *
 * @example
 * const rng = new Rng(42);
 * const delayMs = rng.int(500, 3000);
 * const token = rng.pick(['pm_card_visa', 'pm_card_3ds']);
 */
export class Rng {
  private readonly gen: RandomGenerator;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed);
  }

  /** An independent stream for `purpose`, the same for the same seed and purpose. */
  static stream(seed: number, purpose: string): Rng {
    let h = seed | 0;
    for (const ch of purpose) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
    return new Rng(h);
  }

  /** An integer in [from, to], both included. */
  int(from: number, to: number): number {
    return uniformInt(this.gen, from, to);
  }

  /** True with probability `p` (resolution 1e-6). */
  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** One of `choices`, with probability proportional to its weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((s, [, w]) => s + w, 0);
    let r = this.int(0, total - 1);
    for (const [value, w] of choices) {
      if (r < w) return value;
      r -= w;
    }
    throw new Error('weighted choice over zero total weight');
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}
