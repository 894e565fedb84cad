import { isDeepStrictEqual } from 'node:util';
import { isObject, type JsonObject, type JsonValue } from './json';

// Build-time only: compatibility of a new revision of one published type and version with the
// committed one.

// Annotations change no accepted value, so rewording them is always allowed.
const ANNOTATIONS = new Set(['title', 'description', 'examples', '$comment', 'deprecated']);
const LOWER_BOUNDS = new Set(['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties', 'minContains']);
const UPPER_BOUNDS = new Set(['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties', 'maxContains']);
const SUBSCHEMA = new Set([
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
]);
const SUBSCHEMA_LISTS = new Set(['prefixItems', 'allOf', 'anyOf', 'oneOf']);
const SUBSCHEMA_MAPS = new Set(['$defs', 'patternProperties', 'dependentSchemas']);

/**
 * Violations of the evolution rule for one published type and version: a new revision of its
 * schema may only add optional properties (at any depth). Anything else (a removed property,
 * an optional one made required or the reverse, a new required property, a changed type, enum,
 * format, const or pattern, a narrowed or widened constraint) breaks a producer or a consumer
 * of the published version and needs a new `dataversion` instead. Empty when compatible.
 *
 * @example
 * checkCompatible(committed, eventJsonSchema('payments.payment.charged', 1, paymentChargedV1));
 * // ['$.data.paymentId: property removed']
 */
export function checkCompatible(oldSchema: JsonValue, newSchema: JsonValue): string[] {
  const violations: string[] = [];
  compareSchemas(oldSchema, newSchema, '$', violations);
  return violations;
}

function compareSchemas(a: JsonValue, b: JsonValue, path: string, out: string[]): void {
  if (!isObject(a) || !isObject(b)) {
    // Boolean schemas (`true`/`false`) or garbage: only identical is safe.
    if (!isDeepStrictEqual(a, b)) out.push(`${path}: schema changed from ${show(a)} to ${show(b)}`);
    return;
  }
  if (!isDeepStrictEqual(a.type, b.type)) {
    // Everything below a changed type differs too; one line says it all.
    out.push(`${path}: type changed from ${show(a.type)} to ${show(b.type)}`);
    return;
  }
  compareProperties(a, b, path, out);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (key === 'type' || key === 'properties' || key === 'required' || ANNOTATIONS.has(key)) continue;
    const av = a[key];
    const bv = b[key];
    if (av !== undefined && bv !== undefined && SUBSCHEMA.has(key)) {
      compareSchemas(av, bv, key === 'items' ? `${path}[]` : `${path}/${key}`, out);
    } else if (Array.isArray(av) && Array.isArray(bv) && SUBSCHEMA_LISTS.has(key) && av.length === bv.length) {
      av.forEach((sub, i) => compareSchemas(sub, bv[i] as JsonValue, `${path}/${key}[${i}]`, out));
    } else if (isObject(av) && isObject(bv) && SUBSCHEMA_MAPS.has(key)) {
      for (const name of new Set([...Object.keys(av), ...Object.keys(bv)])) {
        const as = av[name];
        const bs = bv[name];
        if (as === undefined) {
          if (key !== '$defs') out.push(`${path}/${key}/${name}: added`);
        } else if (bs === undefined) {
          out.push(`${path}/${key}/${name}: removed`);
        } else {
          compareSchemas(as, bs, `${path}/${key}/${name}`, out);
        }
      }
    } else if (!isDeepStrictEqual(av, bv)) {
      out.push(`${path}: ${describeChange(key, av, bv)}`);
    }
  }
}

function compareProperties(a: JsonObject, b: JsonObject, path: string, out: string[]): void {
  const ap = isObject(a.properties) ? a.properties : {};
  const bp = isObject(b.properties) ? b.properties : {};
  const ar = requiredSet(a);
  const br = requiredSet(b);
  for (const [name, as] of Object.entries(ap)) {
    const at = `${path}.${name}`;
    const bs = bp[name];
    if (bs === undefined) {
      out.push(`${at}: property removed`);
      continue;
    }
    if (ar.has(name) && !br.has(name))
      out.push(`${at}: required property became optional (consumers rely on it being present)`);
    if (!ar.has(name) && br.has(name))
      out.push(`${at}: optional property became required (published events may lack it)`);
    compareSchemas(as, bs, at, out);
  }
  for (const name of Object.keys(bp)) {
    if (!(name in ap) && br.has(name))
      out.push(`${path}.${name}: new property is required (a new property must be optional)`);
  }
  // `required` naming something that has no `properties` entry: compare those names as a set.
  const bare = (r: Set<string>, p: JsonObject) => [...r].filter((n) => !(n in p)).sort();
  if (!isDeepStrictEqual(bare(ar, ap), bare(br, bp))) {
    out.push(`${path}: required changed from ${show([...ar].sort())} to ${show([...br].sort())}`);
  }
}

function requiredSet(schema: JsonObject): Set<string> {
  const required = schema.required;
  return new Set(Array.isArray(required) ? required.filter((r): r is string => typeof r === 'string') : []);
}

function describeChange(key: string, before: JsonValue | undefined, after: JsonValue | undefined): string {
  if (before === undefined) return `${key} ${show(after)} added (narrows what is accepted)`;
  if (after === undefined) return `${key} ${show(before)} removed (widens what is accepted; consumers rely on it)`;
  if (typeof before === 'number' && typeof after === 'number') {
    const narrowed = LOWER_BOUNDS.has(key) ? after > before : UPPER_BOUNDS.has(key) ? after < before : undefined;
    if (narrowed !== undefined) return `${key} ${narrowed ? 'narrowed' : 'widened'} from ${before} to ${after}`;
  }
  return `${key} changed from ${show(before)} to ${show(after)}`;
}

function show(value: JsonValue | undefined): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
