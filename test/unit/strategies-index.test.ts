/**
 * The two index structures behind the sub-linear strategies, against naive
 * versions under random operations: BitSet (successor queries over a
 * hierarchical bitmap, here with four levels) and KineticTournament (the
 * maximum of lines a + T·slope as T grows, ties to the smaller key).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BitSet } from '../../src/pool/strategies/bit-set.js';
import { KineticTournament } from '../../src/pool/strategies/kinetic-tournament.js';
import { mulberry32 } from '../helpers/random.js';


describe('BitSet', () => {
  for (const size of [1, 31, 32, 33, 1025, 70_000]) {
    it(`agrees with a plain set on add, delete, has, count and next (size ${size})`, () => {
      const rnd = mulberry32(size);
      const bits = new BitSet(size);
      const plain = new Uint8Array(size);
      let count = 0;
      const naiveNext = (i: number) => {
        for (let k = Math.max(0, i); k < size; k++) if (plain[k] === 1) return k;
        return -1;
      };
      // Sparse first (long successor searches), then dense.
      for (let op = 0; op < 4000; op++) {
        const i = Math.floor(rnd() * size);
        const addShare = op < 2000 ? 0.1 : 0.7;
        if (rnd() < addShare) {
          if (plain[i] === 0) count++;
          plain[i] = 1;
          bits.add(i);
        } else {
          if (plain[i] === 1) count--;
          plain[i] = 0;
          bits.delete(i);
        }
        assert.equal(bits.count, count);
        const q = Math.floor(rnd() * (size + 2)) - 1;
        assert.equal(bits.next(q), naiveNext(q), `next(${q}) after op ${op}`);
        assert.equal(bits.has(i), plain[i] === 1);
      }
      bits.clear();
      assert.equal(bits.next(0), -1);
      assert.equal(bits.count, 0);
    });
  }
});

describe('KineticTournament', () => {
  it('gives the same maximum as evaluating every line, as time grows and lines change', () => {
    for (const lines of [1, 2, 3, 7, 64, 200]) {
      const rnd = mulberry32(lines);
      const slopes = Array.from({ length: lines }, (_, c) => c + 1 + Math.floor(rnd() * 3) * lines);
      const k = new KineticTournament(slopes);
      const present = new Array<boolean>(lines).fill(false);
      const a = new Float64Array(lines);
      const tie = new Float64Array(lines);
      let t = 1;
      for (let step = 0; step < 3000; step++) {
        const c = Math.floor(rnd() * lines);
        if (rnd() < 0.85) {
          a[c] = -Math.floor(rnd() * 1000 * lines) - t * (slopes[c] as number) + Math.floor(rnd() * 50);
          tie[c] = Math.floor(rnd() * 5);
          present[c] = true;
          k.set(c, a[c] as number, tie[c] as number, t);
        } else {
          present[c] = false;
          k.remove(c, t);
        }
        t += Math.floor(rnd() * 3);
        let best = -1;
        let bestV = 0;
        for (let d = 0; d < lines; d++) {
          if (!present[d]) continue;
          const v = (a[d] as number) + t * (slopes[d] as number);
          if (best < 0 || v > bestV || (v === bestV && (tie[d] as number) < (tie[best] as number))) {
            best = d;
            bestV = v;
          }
        }
        const got = k.max(t);
        const gotV = got < 0 ? 0 : (a[got] as number) + t * (slopes[got] as number);
        // Equal value and tie key is a true tie: either line is a right answer.
        assert.ok(got === best || (gotV === bestV && tie[got] === tie[best]), `lines ${lines}, step ${step}: ${got} vs ${best}`);
      }
    }
  });
});
