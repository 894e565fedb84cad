import type { Config } from '../../lib/config';
import type { StackLayout } from './layout';
import type { TemporalPersistence } from './temporal-persistence';
import type { Say } from './types';

/** What every component needs: the parsed config, the resolved directories, and the output sink. */
export interface StackContext {
  config: Config;
  layout: StackLayout;
  say: Say;
  /**
   * How a Temporal dev server this stack starts keeps its state: `tuned` when unset (always for
   * the --ha stack, which runs the real server instead). Read it with `devServerPersistence`.
   */
  temporalPersistence?: TemporalPersistence;
}

/** The dev server's persistence `ctx` asks for (`tuned` unless a tool chose otherwise). */
export function devServerPersistence(ctx: StackContext): TemporalPersistence {
  return ctx.temporalPersistence ?? 'tuned';
}
