import type { Dashboard } from './model';
import { consumers, outbox } from './pipeline-dashboards';
import { saga } from './saga-dashboard';
import { api, temporal } from './service-dashboards';

/**
 * The dashboards of deploy/grafana/dashboards/, one per concern, each panel a PromQL query of
 * metrics the processes export (docs/operations.md "Every metric"; test/integration/deploy-metrics
 * checks every name against a real scrape). `npm run dashboards:generate` writes the JSON.
 */

/** Every dashboard, in the order of the README's list. */
export const DASHBOARDS: readonly Dashboard[] = [saga, outbox, consumers, api, temporal];
