import type { FaultRecord } from './faults';
import type { LagStats } from './history-check';
import type { CheckResult } from './invariants';
import type { FaultKind, Topology } from './plan';
import type { UnexpectedExit } from './supervisor';
import type { DbSnapshot } from './collect';

/** The JSON summary a run writes (`--report`), which the chaos test parses. */
export interface ChaosReport {
  seed: number;
  topology: Topology;
  replay: string;
  orders: { planned: number; acknowledged: number; byOutcome: Record<string, number> };
  faults: { byKind: Record<string, { injected: number; attempted: number }>; total: number };
  poison: number;
  duplicates: number;
  /** Each crash point: how often it was armed, and how often a process died there. */
  crashPoints: Record<string, { armed: number; hit: number }>;
  checks: { id: number; name: string; pass: boolean; violations: number; covered: string; examples: string[] }[];
  violations: number;
  quiescence: { quiet: boolean; tookMs: number; backlog: unknown };
  unexpectedExits: UnexpectedExit[];
  restarts: Record<string, number>;
  durationMs: { faults: number; total: number };
  /** How long the read model took to show an acknowledged order, and its end (history check 8). */
  readModelLag?: { placed: LagStats; ended: LagStats };
}

/**
 * What a run selected but never exercised: a fault kind never injected, a crash point armed but
 * never hit. Each is a violation: a run that skipped a fault proves nothing about it, and a run
 * that passes only because its faults did not happen must not pass.
 *
 * @example
 * coverageGaps({ 'pg-latency': { injected: 0, attempted: 2 } }, {}); // ['fault pg-latency selected but never injected (0 of 2 attempts)']
 */
export function coverageGaps(
  byKind: ChaosReport['faults']['byKind'],
  crashPoints: ChaosReport['crashPoints'],
): string[] {
  const gaps: string[] = [];
  for (const [kind, k] of Object.entries(byKind)) {
    if (k.injected === 0) gaps.push(`fault ${kind} selected but never injected (0 of ${k.attempted} attempts)`);
  }
  for (const [point, c] of Object.entries(crashPoints)) {
    if (c.armed > 0 && c.hit === 0) gaps.push(`crash point ${point} armed ${c.armed} time(s) but never hit`);
  }
  return gaps;
}

/** Builds the report from what the run observed. */
export function buildReport(input: {
  seed: number;
  topology: Topology;
  /** The kinds the run injects: each is listed, even at zero. */
  kinds: readonly FaultKind[];
  replay: string;
  planned: number;
  acknowledged: number;
  db: DbSnapshot | undefined;
  faults: FaultRecord[];
  poison: number;
  duplicates: number;
  checks: CheckResult[];
  extraViolations: string[];
  quiescence: ChaosReport['quiescence'];
  unexpectedExits: UnexpectedExit[];
  restarts: Record<string, number>;
  durationMs: ChaosReport['durationMs'];
  readModelLag?: ChaosReport['readModelLag'];
}): ChaosReport {
  const byOutcome: Record<string, number> = {};
  for (const o of input.db?.orders ?? []) {
    const k = o.failure_reason ? `${o.status} ${o.failure_reason}` : o.status;
    byOutcome[k] = (byOutcome[k] ?? 0) + 1;
  }
  const byKind: Record<string, { injected: number; attempted: number }> = {};
  for (const kind of input.kinds) byKind[kind] = { injected: 0, attempted: 0 };
  for (const f of input.faults) {
    const k = byKind[f.kind] ?? { injected: 0, attempted: 0 };
    k.attempted += 1;
    if (f.injected) k.injected += 1;
    byKind[f.kind] = k;
  }
  const crashPoints: Record<string, { armed: number; hit: number }> = {};
  for (const f of input.faults.filter((x) => x.kind === 'crash-point')) {
    const point = f.target?.split(' ')[1] ?? '?';
    const c = crashPoints[point] ?? { armed: 0, hit: 0 };
    c.armed += 1;
    if (f.injected) c.hit += 1;
    crashPoints[point] = c;
  }
  const checks = input.checks.map((c) => ({
    id: c.id,
    name: c.name,
    pass: c.violations.length === 0,
    violations: c.violations.length,
    covered: c.covered,
    examples: c.violations.slice(0, 20),
  }));
  const extra = [...input.extraViolations, ...coverageGaps(byKind, crashPoints)];
  if (extra.length > 0) {
    checks.push({
      id: 0,
      name: 'the run itself: quiescence, no process crash, every fault injected',
      pass: false,
      violations: extra.length,
      covered: '',
      examples: extra.slice(0, 20),
    });
  }
  return {
    seed: input.seed,
    topology: input.topology,
    replay: input.replay,
    orders: { planned: input.planned, acknowledged: input.acknowledged, byOutcome },
    faults: { byKind, total: input.faults.filter((f) => f.injected).length },
    poison: input.poison,
    duplicates: input.duplicates,
    crashPoints,
    checks,
    violations: checks.reduce((n, c) => n + c.violations, 0),
    quiescence: input.quiescence,
    unexpectedExits: input.unexpectedExits,
    restarts: input.restarts,
    durationMs: input.durationMs,
    readModelLag: input.readModelLag,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The human summary printed at the end of a run. */
export function formatReport(r: ChaosReport): string {
  const out: string[] = [];
  out.push(
    `\nchaos run (${r.topology === 'ha' ? '--ha topology' : 'dev stack'}), seed ${r.seed}: ${r.orders.acknowledged}/${r.orders.planned} orders acknowledged`,
  );
  out.push('\norders by outcome');
  out.push(
    table([
      ['outcome', 'orders'],
      ...Object.entries(r.orders.byOutcome)
        .sort()
        .map(([k, n]) => [k, String(n)]),
    ]),
  );
  out.push('\nfaults injected by kind');
  out.push(
    table([
      ['kind', 'injected', 'attempted'],
      ...Object.entries(r.faults.byKind).map(([k, v]) => [k, String(v.injected), String(v.attempted)]),
    ]),
  );
  out.push('\ncrash points');
  out.push(
    table([
      ['point', 'hit', 'armed'],
      ...Object.entries(r.crashPoints).map(([k, v]) => [k, String(v.hit), String(v.armed)]),
    ]),
  );
  out.push(`poison messages ${r.poison}, duplicates ${r.duplicates}; process restarts ${JSON.stringify(r.restarts)}`);
  const logged = r.unexpectedExits.filter((x) => x.kind === 'logged');
  if (logged.length > 0)
    out.push(
      `logged start-up failures (restarted): ${logged.length} (${[...new Set(logged.map((x) => x.name))].join(', ')})`,
    );
  out.push(
    `quiescence: ${r.quiescence.quiet ? 'reached' : 'NOT reached'} in ${(r.quiescence.tookMs / 1000).toFixed(1)}s`,
  );
  const lag = r.readModelLag;
  if (lag)
    out.push(
      `read-model lag: placed p50 ${lag.placed.p50}ms p99 ${lag.placed.p99}ms max ${lag.placed.max}ms (${lag.placed.n} orders); ended p50 ${lag.ended.p50}ms p99 ${lag.ended.p99}ms max ${lag.ended.max}ms (${lag.ended.n})`,
    );
  out.push('\nchecks');
  out.push(
    table([
      ['#', 'check', 'result', 'covered'],
      ...r.checks.map((c) => [String(c.id), c.name, c.pass ? 'pass' : `FAIL (${c.violations})`, c.covered]),
    ]),
  );
  for (const c of r.checks.filter((x) => !x.pass)) {
    out.push(`\n${c.id}. ${c.name}: ${c.violations} violation(s)`);
    for (const ex of c.examples) out.push(`   - ${ex}`);
  }
  out.push(`\nviolations: ${r.violations}`);
  if (r.violations > 0) out.push(`replay: ${r.replay}`);
  return out.join('\n');
}
