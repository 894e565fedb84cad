import { Ajv2020 } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>>;
}

/** One response as the client saw it. */
export interface SeenResponse {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: string;
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Checks responses against the API's own OpenAPI 3.1 document with ajv: the operation exists, the
 * status is declared for it, and a JSON body matches the declared schema.
 *
 * @example
 * const check = openApiValidator(await (await fetch(`${base}/openapi.json`)).json());
 * assert.deepEqual(check({ method: 'GET', path: '/healthz', status: 200, contentType: 'application/json', body: '{"status":"ok"}' }), []);
 */
export function openApiValidator(doc: OpenApiDoc): (seen: SeenResponse) => string[] {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(doc as object, 'openapi.json');
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  return (seen) => {
    const path = seen.path.split('?')[0] ?? seen.path;
    const match = templates.find((t) => t.pattern.test(path));
    if (!match) {
      // Paths outside the API are answered 404 problem+json, which no document lists.
      const notFound = seen.status === 404 && seen.contentType.startsWith('application/problem+json');
      return notFound ? [] : [`${seen.method} ${path}: no such path in the OpenAPI document`];
    }
    const method = seen.method.toLowerCase();
    const operation = doc.paths[match.template]?.[method];
    if (!operation) return [`${seen.method} ${match.template}: method not in the OpenAPI document`];
    const response = operation.responses?.[String(seen.status)];
    if (!response)
      return [`${seen.method} ${match.template} answered ${seen.status}, which the document does not declare`];
    const mediaType = seen.contentType.split(';')[0]?.trim() ?? '';
    if (!response.content)
      return seen.body.length === 0
        ? []
        : [`${seen.method} ${match.template} ${seen.status}: body where none is declared`];
    if (!(mediaType in response.content))
      return [`${seen.method} ${match.template} ${seen.status}: content type ${mediaType} not declared`];
    if (!mediaType.endsWith('json')) return [];
    const pointer = ['paths', match.template, method, 'responses', String(seen.status), 'content', mediaType, 'schema']
      .map(escapePointer)
      .join('/');
    const validate = ajv.getSchema(`openapi.json#/${pointer}`);
    if (!validate) return [`no schema at ${pointer}`];
    let body: unknown;
    try {
      body = JSON.parse(seen.body);
    } catch {
      return [`${seen.method} ${match.template} ${seen.status}: body is not JSON`];
    }
    if (validate(body)) return [];
    return (validate.errors ?? []).map(
      (e) => `${seen.method} ${match.template} ${seen.status}: ${e.instancePath || '(root)'} ${e.message ?? ''}`,
    );
  };
}
