import type { Config } from '../../lib/config';
import type { StackLayout } from './layout';
import type { Say } from './types';

/** What every component needs: the parsed config, the resolved directories, and the output sink. */
export interface StackContext {
  config: Config;
  layout: StackLayout;
  say: Say;
}
