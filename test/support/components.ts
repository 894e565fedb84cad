/**
 * What a suite runs in this process (the API, workers, relays, consumers): each runs until
 * `signal` aborts, and the suite's after() stops them all at once.
 *
 * @example
 * const components = new RunningComponents();
 * before(() => components.add(runRelay(config, logger, components.signal)));
 * after(() => components.stopAll());
 */
export class RunningComponents {
  readonly #stop = new AbortController();
  readonly #runs: Promise<void>[] = [];

  /** Aborts when the suite stops its components; give it to each one. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  add(...runs: Promise<void>[]): void {
    this.#runs.push(...runs);
  }

  /** Rejects as soon as any component stops, with its own error if it failed, so a dead worker fails a wait fast. */
  stoppedEarly(): Promise<never> {
    return Promise.race(
      this.#runs.map((p) => p.then(() => Promise.reject(new Error('a component stopped before the test ended')))),
    );
  }

  /** Aborts every component and waits for all of them, even if one failed; the failures go to the test's log. */
  async stopAll(): Promise<void> {
    this.#stop.abort();
    for (const r of await Promise.allSettled(this.#runs))
      if (r.status === 'rejected') console.error('a component failed:', r.reason);
  }
}
