import { audit } from '../subscribers/audit';
import { runSubscriberIfMain } from './subscriber-host';

/** Entry point of the audit subscriber (subscribers/audit.ts). */
await runSubscriberIfMain(import.meta.url, audit);
