import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide } from '../../api/rate-limiter';

/** The GCRA answer's arithmetic: what the headers say for a given distance of `tat` ahead of now. */
describe('rate-limit decisions', () => {
  const perMinute = { limit: 60, windowSeconds: 60 };

  it('after one request of a fresh quota of 60 per minute: 59 left, whole again in 1 s', () => {
    assert.deepEqual(decide(perMinute, true, 1_000), {
      allowed: true,
      remaining: 59,
      resetSeconds: 1,
      retryAfterSeconds: 0,
    });
  });

  it('after the whole burst: nothing left, whole again after the window', () => {
    assert.deepEqual(decide(perMinute, true, 60_000), {
      allowed: true,
      remaining: 0,
      resetSeconds: 60,
      retryAfterSeconds: 0,
    });
  });

  it('refused: retry when one request fits again (at least 1 s)', () => {
    assert.deepEqual(decide(perMinute, false, 60_000), {
      allowed: false,
      remaining: 0,
      resetSeconds: 1,
      retryAfterSeconds: 1,
    });
    assert.equal(decide({ limit: 3, windowSeconds: 6 }, false, 5_500).retryAfterSeconds, 2);
  });

  it('counts the remaining requests exactly when the interval is not a whole number of microseconds', () => {
    const policy = { limit: 3, windowSeconds: 2 };
    // 666_666 µs per request (rounded down): two taken leave one.
    assert.equal(decide(policy, true, 1_333.332).remaining, 1);
    assert.equal(decide(policy, true, 1_999.998).remaining, 0);
  });
});
