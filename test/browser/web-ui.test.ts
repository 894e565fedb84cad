/**
 * The Temporal Web UI as an operator uses it: find a finished checkout in the workflows list by
 * the OrderStatus search attribute, open it, read its steps in the event history, and its input
 * decoded through the codec server (the dev server's --ui-codec-endpoint). Runs
 * against the stack's real Temporal dev server with Debian's Chromium
 * (`npm run stack:up -- --browser`). Screenshots go to test-results/web-ui/.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { checkoutWorkflowId } from '../../domain/order';
import { repoRoot, type Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createTemporalClient } from '../../lib/temporal';
import { runCodecServer } from '../../workers/codec-server';
import { runRelay } from '../../workers/relay';
import { runSagaWorker } from '../../workers/saga-worker';
import { findChromium } from '../../scripts/stack/browser';
import { checkoutRequest, startApi } from '../support/api';
import { RunningComponents } from '../support/components';
import { eventually, testConfig, testDb, testLogger } from '../support/services';

const TOKEN = 'web-ui-token-0123456789abcdef';
const SCREENSHOTS = join(repoRoot, 'test-results', 'web-ui');
/** The forward steps of a completed saga, in the order they must have been scheduled. */
const STEPS = ['reserveStock', 'chargePayment', 'shipOrder'] as const;
// The UI is a SPA that fetches after first paint; on a cold CI machine the first load of its
// bundle plus the first visibility query can take several seconds, so waits are generous.
const UI_TIMEOUT_MS = 30_000;
/** The shipping address line test/support/api.ts gives every order: customer data the codec hides. */
const ADDRESS_LINE = '1 Main St';

describe('Temporal Web UI (real dev server, headless Chromium)', () => {
  let config: Config;
  let db: Db | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let base = '';
  let workflowId = '';
  let runId = '';
  const components = new RunningComponents();

  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };

  before(async () => {
    config = testConfig({ API_TOKENS: TOKEN, PORT: '0' });
    // Preconditions first, each with the command that fixes it: this test never skips.
    const executablePath = await findChromium(config);
    if (executablePath === undefined) {
      throw new Error(
        "Chromium is not installed: run `npm run stack:up -- --browser` (installs Debian's chromium) or set CHROMIUM_PATH",
      );
    }
    const ui = config.temporal.uiUrl;
    const reachable = await fetch(ui, { signal: AbortSignal.timeout(5_000) }).then(
      (res) => (res.ok ? '' : `HTTP ${res.status}`),
      (err: Error) => err.message,
    );
    if (reachable !== '')
      throw new Error(
        `Temporal Web UI is not reachable at ${ui} (${reachable}); run \`npm run stack:up\` (or set TEMPORAL_UI_URL)`,
      );

    db = await testDb(config);
    const logger = testLogger('web-ui');
    const api = startApi(config, logger, components.signal);
    components.add(api.running, runSagaWorker(config, logger, components.signal));
    components.add(runRelay(config, logger, components.signal));
    // On the port `stack up` gave the dev server's UI as its codec endpoint (CODEC_SERVER_PORT).
    let codecListening: () => void = () => undefined;
    const codecReady = new Promise<void>((resolve) => (codecListening = resolve));
    components.add(runCodecServer(config, logger, components.signal, () => codecListening()));
    await Promise.race([codecReady, components.stoppedEarly()]);
    base = await Promise.race([api.base, components.stoppedEarly()]);

    // A SKU of our own, so stock left by other tests can never make this order fail.
    const sku = `WEBUI-${randomUUID().slice(0, 8)}`;
    const put = await fetch(`${base}/inventory/${sku}`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ name: `Web UI ${sku}`, priceCents: 990, available: 5 }),
    });
    assert.equal(put.status, 200, `PUT /inventory/${sku}`);
    const placed = await fetch(`${base}/checkouts`, {
      method: 'POST',
      headers: { ...headers, 'Idempotency-Key': randomUUID() },
      body: JSON.stringify(checkoutRequest({ customerId: `cust-webui-${randomUUID().slice(0, 8)}`, sku })),
    });
    assert.equal(placed.status, 202, `POST /checkouts: ${await placed.clone().text()}`);
    const { orderId } = (await placed.json()) as { orderId: string };
    const status = await Promise.race([
      eventually(
        async () => {
          const res = await fetch(`${base}/checkouts/${orderId}`, { headers });
          const state = (await res.json()) as { status?: string };
          return ['COMPLETED', 'FAILED', 'CANCELLED'].includes(String(state.status)) ? state.status : undefined;
        },
        60_000,
        `order ${orderId} to settle`,
      ),
      components.stoppedEarly(),
    ]);
    assert.equal(status, 'COMPLETED', `order ${orderId} must complete for the UI to show all three steps`);
    workflowId = checkoutWorkflowId(orderId);
    // The run id is only needed to know which detail URL the list must link to.
    const client = await createTemporalClient(config.temporal);
    try {
      runId = (await client.workflow.getHandle(workflowId).describe()).runId;
    } finally {
      await client.connection.close();
    }

    // Start empty, so every screenshot in the folder is from this run.
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
    // playwright-core downloads no browser: it drives the system Chromium. Playwright passes
    // --no-sandbox itself by default, which Chromium needs when we run as root (CI containers).
    browser = await chromium.launch({ executablePath, headless: true, timeout: UI_TIMEOUT_MS });
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  after(async () => {
    // Settle everything even if one part failed, so no browser or worker is left running.
    const [closed] = await Promise.allSettled([browser?.close(), components.stopAll()]);
    if (closed.status === 'rejected') console.error('web-ui test browser failed:', closed.reason);
    await db?.end();
  });

  /** Runs `step`, saving a `failed-<name>.png` screenshot when it throws: a UI failure is hard to read from a selector alone. */
  async function withFailureScreenshot(name: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      const path = join(SCREENSHOTS, `failed-${name}.png`);
      const saved = await page.screenshot({ path, fullPage: true }).then(
        () => true,
        () => false,
      );
      if (saved && err instanceof Error) err.message += `\n(screenshot of the page: ${relative(repoRoot, path)})`;
      throw err;
    }
  }

  const namespacePath = () => `/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
  const historyPath = () =>
    `${namespacePath()}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

  it('lists the finished saga when filtered by OrderStatus="COMPLETED" and links to its history', async () => {
    await withFailureScreenshot('workflows-list', async () => {
      // Web UI 2.x reads a visibility query from the `query` parameter, URL-encoded, and shows
      // it as filter chips; this is the link an operator would bookmark or share.
      const query = `OrderStatus="COMPLETED" AND WorkflowId="${workflowId}"`;
      const listUrl = new URL(
        `${namespacePath()}/workflows?query=${encodeURIComponent(query)}`,
        config.temporal.uiUrl,
      ).toString();
      const row = page.getByTestId('workflows-summary-configurable-table-row').filter({ hasText: workflowId });
      // Visibility is eventually consistent: the final OrderStatus upsert can reach the list a
      // moment after the order reads COMPLETED, so reload a few times rather than fail at once.
      await eventually(
        async () => {
          await page.goto(listUrl);
          return await row
            .first()
            .waitFor({ state: 'visible', timeout: 5_000 })
            .then(
              () => true,
              () => undefined,
            );
        },
        UI_TIMEOUT_MS,
        `workflow ${workflowId} in the Web UI list for ${query}`,
      );
      assert.equal(await row.count(), 1, 'exactly one row: the query pins the workflow id');
      await row.getByText('Completed', { exact: true }).waitFor({ state: 'visible' });
      // The filter chip proves the UI parsed our search-attribute query, not just any list.
      await page
        .getByText(/^OrderStatus\s*=\s*"COMPLETED"$/)
        .first()
        .waitFor({ state: 'visible' });
      await page.screenshot({ path: join(SCREENSHOTS, 'workflows-list.png'), fullPage: true });

      await row.getByRole('link', { name: workflowId, exact: true }).click();
      await page.waitForURL((url) => url.pathname === historyPath());
    });
  });

  it('shows reserveStock, chargePayment and shipOrder in the event history, in saga order', async () => {
    await withFailureScreenshot('workflow-history', async () => {
      await page.goto(new URL(historyPath(), config.temporal.uiUrl).toString());
      await page.getByTestId('workflow-id-heading').filter({ hasText: workflowId }).waitFor({ state: 'visible' });
      // Scoped to the event table: the step names also appear in the saga's Result JSON on the
      // same page, which would pass even if the history failed to render.
      const events = page.getByTestId('event-summary-table').getByTestId('event-summary-row');
      await events.filter({ hasText: 'Workflow Execution Completed' }).first().waitFor({ state: 'visible' });
      const scheduledAt: number[] = [];
      for (const step of STEPS) {
        const scheduled = events.filter({ hasText: 'Activity Task Scheduled' }).filter({ hasText: step });
        await scheduled.first().waitFor({ state: 'visible' });
        // The first cell is the event id, a link to the event's own page.
        const eventId = Number((await scheduled.first().getByRole('link').first().innerText()).trim());
        assert.ok(Number.isInteger(eventId) && eventId > 0, `event id of ${step}'s Activity Task Scheduled row`);
        scheduledAt.push(eventId);
        // The timeline above the table labels each activity too; operators read it first.
        await page.locator('svg text', { hasText: step }).first().waitFor({ state: 'visible' });
      }
      assert.deepEqual(
        [...scheduledAt].sort((a, b) => a - b),
        scheduledAt,
        `${STEPS.join(' → ')} scheduled in this order (event ids ${scheduledAt.join(', ')})`,
      );
      await page.screenshot({ path: join(SCREENSHOTS, 'workflow-history.png'), fullPage: true });
      // The UI scrolls inside its own container, so the full-page shot stops at the timeline;
      // the event table gets a shot of its own.
      await page
        .getByTestId('event-summary-table')
        .screenshot({ path: join(SCREENSHOTS, 'workflow-history-events.png') });
    });
  });

  // Since LOCAL_FINALIZE_PATCH the order's final record is a local activity: a marker in the
  // history, not an Activity Task Scheduled row. Operators must still find it by name.
  it('shows the final record, finalizeOrder (a local activity), by name after shipOrder', async () => {
    await withFailureScreenshot('workflow-finalize', async () => {
      await page.goto(new URL(historyPath(), config.temporal.uiUrl).toString());
      await page.getByTestId('workflow-id-heading').filter({ hasText: workflowId }).waitFor({ state: 'visible' });
      const events = page.getByTestId('event-summary-table').getByTestId('event-summary-row');
      const finalize = events.filter({ hasText: 'finalizeOrder' });
      await finalize.first().waitFor({ state: 'visible' });
      const idOf = async (row: typeof finalize) =>
        Number((await row.first().getByRole('link').first().innerText()).trim());
      const shipped = events.filter({ hasText: 'Activity Task Scheduled' }).filter({ hasText: 'shipOrder' });
      assert.ok(
        (await idOf(finalize)) > (await idOf(shipped)),
        'finalizeOrder is recorded after shipOrder was scheduled',
      );
      await page.locator('svg text', { hasText: 'finalizeOrder' }).first().waitFor({ state: 'visible' });
    });
  });

  it("shows the saga's input decoded through the codec server, while Temporal stores it encrypted", async () => {
    await withFailureScreenshot('workflow-input', async () => {
      const client = await createTemporalClient(config.temporal);
      try {
        const { events } = await client.workflow.getHandle(workflowId).fetchHistory();
        const stored = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        const encoding = Buffer.from(stored?.metadata?.encoding ?? []).toString('utf8');
        assert.equal(encoding, 'binary/encrypted', 'the server holds the input encrypted');
        assert.ok(
          !Buffer.from(stored?.data ?? [])
            .toString('latin1')
            .includes(ADDRESS_LINE),
        );
      } finally {
        await client.connection.close();
      }
      await page.goto(new URL(historyPath(), config.temporal.uiUrl).toString());
      await page.getByTestId('workflow-id-heading').filter({ hasText: workflowId }).waitFor({ state: 'visible' });
      // The UI asks the codec server, then renders the decoded JSON of Input and Results.
      await page.getByText(ADDRESS_LINE).first().waitFor({ state: 'visible' });
      await page.screenshot({ path: join(SCREENSHOTS, 'workflow-input-decoded.png'), fullPage: true });
    });
  });
});
