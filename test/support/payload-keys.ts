import type { DataConverter } from '@temporalio/common';
import { encryptedDataConverter, type PayloadKeys } from '../../lib/payload-codec';

/**
 * The key of the workflow tests and of the recorded replay fixtures (test/workflow/histories/).
 * Test-only: its id says so, it is public, and lib/config.ts never offers it (production refuses
 * to run without PAYLOAD_KEYS; elsewhere the default is the `dev` key).
 */
export const TEST_PAYLOAD_KEYS: PayloadKeys = {
  keys: [{ id: 'test-only', key: Buffer.from('checkout-saga-TEST-ONLY-payloads', 'utf8') }],
  currentKeyId: 'test-only',
};

/** The data converter of every time-skipping client and worker, and of replay. */
export const testDataConverter = (): DataConverter => encryptedDataConverter(TEST_PAYLOAD_KEYS);
