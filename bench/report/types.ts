import type { LatencySummary } from '../stats';

/** What a measurement is to its scenario: the thing under test, a baseline it is compared with, or a ceiling. */
export type Role = 'subject' | 'baseline' | 'ceiling' | 'experiment';

/** One measured workload, repeated `throughput.length` times after a warm-up. */
export interface Measurement {
  /** Short stable key, e.g. `relay` or `raw-nats`. */
  key: string;
  label: string;
  role: Role;
  unit: string;
  /** Throughput of each repetition, in `unit`. */
  throughput: number[];
  /** Median of `throughput`. */
  median: number;
  /** Latencies pooled over every repetition. */
  latency?: LatencySummary;
  /** What was measured and how, in one line. */
  detail: string;
}

export interface Ratio {
  label: string;
  value: number;
}

/** A target from issue 7 and whether this run met it; `met` is null when it was not measured. */
export interface Target {
  scenario: string;
  description: string;
  measured: string;
  met: boolean | null;
}

export interface ProcessMemory {
  process: string;
  /** Peak resident set size (VmHWM), MiB. */
  peakRssMiB: number;
  note?: string;
}

export interface ScenarioResult {
  id: string;
  title: string;
  params: Record<string, string | number>;
  measurements: Measurement[];
  ratios: Ratio[];
  targets: Target[];
  memory?: ProcessMemory[];
  notes: string[];
  durationMs: number;
}

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  packages: Record<string, string>;
  binaries: Record<string, string>;
  gitCommit: string;
  gitDirty: boolean;
  /** 1-minute load average when the run started and ended: how busy the shared machine was. */
  loadAverage: { start: number; end: number };
}

export interface BenchReport {
  command: string;
  mode: 'quick' | 'full';
  /** The dev stack, or the production-shaped one (`--ha`); absent in reports written before it. */
  topology?: 'dev' | 'ha';
  /** The scenarios run, when `--only` left some of the topology's scenarios out. */
  only?: string[];
  reps: number;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  machine: MachineFacts;
  scenarios: ScenarioResult[];
  errors: { scenario: string; message: string }[];
}
