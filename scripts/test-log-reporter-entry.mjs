// Node 20's test runner loads its reporters before any `--import` hook runs, so the TypeScript
// reporter comes in through tsx's API here.
import { tsImport } from 'tsx/esm/api';

const { default: TestLogReporter } = await tsImport('./test-log-reporter.ts', import.meta.url);
export default TestLogReporter;
