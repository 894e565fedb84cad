import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../lib/config';
import { renderChart } from './chart';
import { renderMarkdown } from './markdown';
import type { BenchReport } from './types';

/** Where reports go; `latest.*` is overwritten by every run. */
export const RESULTS_DIR = join(repoRoot, 'bench', 'results');

/**
 * Writes `latest.json`, `latest.md` and `latest.svg` (and a copy of each named after the mode, so
 * the last quick and the last full run are both kept); a run on the HA topology writes
 * `latest-ha.*` and `<mode>-ha.*`; a run of some scenarios only (`--only`) writes `<mode>-<a+b>.*`
 * instead of `<mode>.*`, so the last complete run of each mode stays.
 *
 * @example
 * const files = await writeReport(report);
 */
export async function writeReport(report: BenchReport, dir = RESULTS_DIR): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const outputs: [string, string][] = [
    ['json', `${JSON.stringify(report, null, 2)}\n`],
    ['md', renderMarkdown(report)],
    ['svg', renderChart(report)],
  ];
  const files: string[] = [];
  // The HA topology's runs are kept beside the dev stack's, never over them.
  const suffix = report.topology === 'ha' ? '-ha' : '';
  const latest = `latest${suffix}`;
  // A run of some scenarios only keeps the last complete run of its mode: it is named after them.
  const partial = report.only && report.only.length > 0 ? `-${report.only.join('+')}` : '';
  const named = `${report.mode}${suffix}${partial}`;
  for (const [ext, content] of outputs) {
    for (const base of [latest, named]) {
      const file = join(dir, `${base}.${ext}`);
      await writeFile(file, ext === 'md' ? content.replace('(latest.svg)', `(${base}.svg)`) : content);
      files.push(file);
    }
  }
  return files;
}
