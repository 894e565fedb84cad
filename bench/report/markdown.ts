import type { BenchReport, Measurement, ScenarioResult } from './types';

const fmt = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? '—' : String(n));
const met = (m: boolean | null): string => (m === null ? 'not measured' : m ? '**met**' : '**not met**');

function measurementRow(m: Measurement): string {
  const l = m.latency;
  return `| ${m.label} | ${m.role} | ${fmt(m.median)} ${m.unit} | ${m.throughput.join(', ')} | ${fmt(l?.p50)} | ${fmt(l?.p95)} | ${fmt(l?.p99)} | ${fmt(l?.max)} | ${fmt(l?.count)} |`;
}

function scenarioSection(s: ScenarioResult): string[] {
  const lines = [
    `## ${s.title}`,
    '',
    `Parameters: ${Object.entries(s.params)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. Took ${Math.round(s.durationMs / 1000)} s.`,
    '',
  ];
  lines.push(
    '| measurement | role | median throughput | per repetition | p50 ms | p95 ms | p99 ms | max ms | samples |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  lines.push(...s.measurements.map(measurementRow), '');
  for (const m of s.measurements) lines.push(`- *${m.label}*: ${m.detail}`);
  lines.push('');
  if (s.ratios.length > 0) lines.push(...s.ratios.map((r) => `- Ratio, ${r.label}: **${r.value}**`), '');
  if (s.targets.length > 0)
    lines.push(...s.targets.map((t) => `- Target: ${t.description}: measured ${t.measured} — ${met(t.met)}`), '');
  if (s.memory && s.memory.length > 0) {
    lines.push('Peak RSS (VmHWM) of each process over the scenario:', '', '| process | peak RSS MiB |', '|---|---|');
    lines.push(...s.memory.map((m) => `| ${m.process}${m.note ? ` (${m.note})` : ''} | ${m.peakRssMiB} |`), '');
  }
  if (s.notes.length > 0) lines.push(...s.notes.map((n) => `- ${n}`), '');
  return lines;
}

/**
 * The human report: machine facts, one section per scenario, every target with met / not met.
 *
 * @example
 * writeFileSync('latest.md', renderMarkdown(report));
 */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const targets = report.scenarios.flatMap((s) => s.targets);
  const lines = [
    `# Benchmark results (${report.mode}${report.topology === 'ha' ? ', production-shaped topology' : ''})`,
    '',
    `\`${report.command}\` — ${report.startedAt}, ${Math.round(report.durationMs / 1000)} s, ${report.reps} repetitions after a warm-up; figures are medians of the repetitions, latency percentiles pooled over them.`,
    '',
    '![throughput and latency](latest.svg)',
    '',
    ...(report.topology === 'ha'
      ? [
          'Topology (`--ha`): PostgreSQL primary with a synchronous standby behind a session-mode proxy, three NATS servers with every stream at R3 and `sync_interval: always`, the Temporal server on PostgreSQL. All on this one machine.',
          '',
        ]
      : []),
    '## Machine',
    '',
    `- CPU: ${m.cpuModel}, ${m.cores} cores; memory ${m.memoryGiB} GiB; ${m.os}; Node ${m.node}`,
    `- Load average (1 min) at start ${m.loadAverage.start}, at end ${m.loadAverage.end} (the machine is shared: other work ran meanwhile)`,
    `- Git commit ${m.gitCommit}${m.gitDirty ? ' with uncommitted changes' : ''}`,
    `- Servers: ${Object.entries(m.binaries)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}`,
    `- Packages: ${Object.entries(m.packages)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    '## Targets',
    '',
    '| scenario | target | measured | |',
    '|---|---|---|---|',
    ...targets.map((t) => `| ${t.scenario} | ${t.description} | ${t.measured} | ${met(t.met)} |`),
    '',
    ...report.scenarios.flatMap(scenarioSection),
  ];
  if (report.errors.length > 0) {
    lines.push('## Errors', '', ...report.errors.map((e) => `- ${e.scenario}: \`${e.message.split('\n')[0]}\``), '');
  }
  return `${lines.join('\n')}\n`;
}
