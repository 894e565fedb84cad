/**
 * `tsx scripts/code-size.ts [--check] [--top N]`: the largest product files and functions.
 *
 * A function's size is the lines of its own body: lines that belong to a nested function (or
 * class) count for that one instead, so a factory returning ten small closures is measured per
 * closure. `--check` fails unless every product file is under FILE_LIMIT lines, every function
 * under FUNCTION_LIMIT own lines, and the saga's workflow function spans under WORKFLOW_LIMIT lines
 * in all (issue 13: "under 350", "reads top to bottom in under 120"): the limits the structure
 * was cut to, kept by `npm test`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';
import { repoRoot } from '../lib/config';

/**
 * Folders of code that ships: every top-level folder of TypeScript but the tools (tests, scripts
 * and benchmarks are measured but not limited). A unit test keeps this list complete.
 */
export const PRODUCT_DIRS = [
  'access',
  'workflows',
  'activities',
  'api',
  'auth',
  'checkouts',
  'codec-server',
  'events',
  'outbox',
  'lib',
  'domain',
  'workers',
  'subscribers',
  'starter',
];
/** Folders of tools: measured with `--all`, never limited. */
export const TOOL_DIRS = ['scripts', 'bench', 'test'];
const FILE_LIMIT = 350;
const FUNCTION_LIMIT = 80;
const WORKFLOW_LIMIT = 120;
const WORKFLOW_FUNCTIONS = new Set(['checkoutSaga']);

interface FunctionSize {
  file: string;
  name: string;
  line: number;
  own: number;
  span: number;
}

/** Every TypeScript file under `dir` (declarations and node_modules left out). */
export function tsFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry);
    if (entry === 'node_modules') return [];
    if (statSync(path).isDirectory()) return tsFiles(path);
    return entry.endsWith('.ts') && !entry.endsWith('.d.ts') ? [path] : [];
  });
}

function isFunctionLike(node: ts.Node): node is ts.SignatureDeclaration & { body?: ts.Node } {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

function nameOf(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name && (ts.isIdentifier(named.name) || ts.isStringLiteral(named.name))) return named.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && (ts.isIdentifier(parent.name) || ts.isStringLiteral(parent.name)))
    return parent.name.text;
  return '<anonymous>';
}

/** Every function of a file with its own lines (lines not inside a nested function) and its span. */
function functionSizes(file: string): FunctionSize[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line;
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node): Set<number> => {
    // Returns the lines this subtree's functions claim, so the enclosing function can exclude them.
    const claimed = new Set<number>();
    ts.forEachChild(node, (child) => {
      for (const l of visit(child)) claimed.add(l);
    });
    if (!isFunctionLike(node) || !node.body) return claimed;
    const first = lineOf(node.getStart(source));
    const last = lineOf(node.getEnd());
    let own = 0;
    for (let l = first; l <= last; l++) if (!claimed.has(l) || l === first) own++;
    out.push({ file: relative(repoRoot, file), name: nameOf(node), line: first + 1, own, span: last - first + 1 });
    const mine = new Set<number>();
    for (let l = first; l <= last; l++) mine.add(l);
    return mine;
  };
  visit(source);
  return out;
}

function main(): void {
  const { values } = parseArgs({
    options: { check: { type: 'boolean' }, top: { type: 'string' }, all: { type: 'boolean' } },
  });
  const top = Number(values.top ?? 10);
  const productFiles = PRODUCT_DIRS.flatMap((d) => tsFiles(join(repoRoot, d)));
  const files = values.all ? [...productFiles, ...TOOL_DIRS.flatMap((d) => tsFiles(join(repoRoot, d)))] : productFiles;

  const fileSizes = files
    .map((f) => ({ file: relative(repoRoot, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
    .sort((a, b) => b.lines - a.lines);
  const functions = files.flatMap(functionSizes).sort((a, b) => b.own - a.own);

  console.log(`largest files (of ${fileSizes.length}):`);
  for (const f of fileSizes.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
  console.log(`largest functions by own lines (of ${functions.length}):`);
  for (const f of functions.slice(0, top))
    console.log(`  ${String(f.own).padStart(5)}  ${f.name} (${f.file}:${f.line}, span ${f.span})`);

  if (values.check) {
    const product = new Set(productFiles.map((f) => relative(repoRoot, f)));
    const problems = [
      ...fileSizes
        .filter((f) => product.has(f.file) && f.lines >= FILE_LIMIT)
        .map((f) => `${f.file}: ${f.lines} lines (must be under ${FILE_LIMIT})`),
      ...functions
        .filter((f) => product.has(f.file) && f.own >= FUNCTION_LIMIT)
        .map((f) => `${f.file}:${f.line} ${f.name}: ${f.own} own lines (must be under ${FUNCTION_LIMIT})`),
      ...functions
        .filter((f) => WORKFLOW_FUNCTIONS.has(f.name) && f.span >= WORKFLOW_LIMIT)
        .map(
          (f) =>
            `${f.file}:${f.line} ${f.name}: spans ${f.span} lines (a workflow function reads in under ${WORKFLOW_LIMIT})`,
        ),
    ];
    if (problems.length > 0) {
      console.error(`\ncode size check failed:\n${problems.map((p) => `  ${p}`).join('\n')}`);
      process.exit(1);
    }
    console.log('\ncode size check passed');
  }
}

// Importable by the test that keeps PRODUCT_DIRS complete; runs only as `tsx scripts/code-size.ts`.
if (process.argv[1] === fileURLToPath(import.meta.url)) main();
