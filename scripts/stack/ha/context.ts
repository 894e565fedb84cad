import type { StackContext } from '../context';
import type { HaPorts } from './topology';

/** What every HA component needs: the stack context of the HA stack's config, and its ports. */
export interface HaContext extends StackContext {
  ports: HaPorts;
}
