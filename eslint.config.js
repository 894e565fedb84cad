// Lint rules that matter here: promises are never left floating, and workflow code stays
// deterministic (no Node builtins, no I/O libraries, activities imported as types only).
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

// The events kit (`checkout-saga/events`) is installed by other teams without the rest of this
// repository, so it must not reach into the checkout's own folders, at any depth.
const appFolders = [
  'domain',
  'workflows',
  'activities',
  'checkouts',
  'api',
  'outbox',
  'lib',
  'workers',
  'subscribers',
  'scripts',
];
const appImports = appFolders.flatMap((folder) =>
  ['../', '../../', '../../../'].flatMap((up) => [`${up}${folder}`, `${up}${folder}/*`]),
);

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', 'test-results/**', 'bench/results/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test runs these itself; awaiting them would serialise suite registration.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((m) => [
              { name: m, message: 'Workflow code must be deterministic: no Node builtins.' },
              { name: `node:${m}`, message: 'Workflow code must be deterministic: no Node builtins.' },
            ]),
            { name: 'pg', message: 'No I/O in workflow code: do it in an activity.' },
            { name: 'nats', message: 'No I/O in workflow code: do it in an activity.' },
            { name: 'hono', message: 'No I/O in workflow code.' },
            { name: 'pino', message: 'Use the workflow `log` from @temporalio/workflow.' },
            { name: '@temporalio/client', message: 'Workflows use @temporalio/workflow only.' },
            { name: '@temporalio/worker', message: 'Workflows use @temporalio/workflow only.' },
          ],
          patterns: [
            {
              group: ['node:*', '@hono/*', 'hono/*', '../lib/*', '../outbox/*', '../api/*', '../events/consumer'],
              message: 'Not allowed in deterministic workflow code.',
            },
            {
              group: ['../activities', '../activities/*'],
              allowTypeImports: true,
              message: 'Import activities as types only (`import type`).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['events/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: appImports,
              message:
                'The events kit ships to other teams on its own: it imports nothing from the checkout (domain, workflows, activities, checkouts, api, outbox, lib, workers, subscribers, scripts).',
            },
          ],
        },
      ],
    },
  },
  {
    // The checkout's use cases know nothing of HTTP: they throw checkout errors, and api/ (the
    // edge) turns them into responses. A later caller (a saga starter, a CLI) uses them as they are.
    files: ['checkouts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'hono', message: 'HTTP belongs to api/, the edge.' }],
          patterns: [
            { group: ['../api', '../api/*', 'hono/*', '@hono/*'], message: 'HTTP belongs to api/, the edge.' },
          ],
        },
      ],
    },
  },
);
