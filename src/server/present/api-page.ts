/**
 * The "Use via API" page's data, built from the OpenAPI document: per
 * operation its text in the page's language, parameters, answers, example
 * answer and ready-to-copy curl, fetch and Python calls.
 */
import type { OpenAPIV3_1 } from 'openapi-types';
import { isMessageKey, type Translate } from '../i18n/index.js';
import { uiLocals } from '../http/request-context.js';
import { inlineMarkdown } from './inline-markdown.js';

export interface ApiOperationView {
  id: string;
  method: string;
  path: string;
  summary: string;
  /** HTML: the description's markdown (inline `code`) rendered, everything else escaped. */
  descriptionHtml: string;
  parameters: Array<{ name: string; where: string; required: boolean; descriptionHtml: string }>;
  bodyTypes: string[];
  responses: Array<{ status: string; descriptionHtml: string }>;
  /** The documented example of the 200 answer, as indented JSON ('' when there is none). */
  example: string;
  curl: string;
  fetch: string;
  python: string;
}

type Document = OpenAPIV3_1.Document;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function curlExample(method: string, url: string, op: OpenAPIV3_1.OperationObject, auth: boolean): string {
  const parts = ['curl'];
  if (auth) parts.push('-u USER:PASSWORD');
  const body = op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
  if (body?.content?.['multipart/form-data']) parts.push('-F image=@photo.jpg');
  else if (method !== 'GET') parts.push(`-X ${method}`);
  parts.push(`'${url}'`);
  return parts.join(' ');
}

function fetchExample(method: string, url: string, op: OpenAPIV3_1.OperationObject, auth: boolean, t: Translate): string {
  const body = op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
  const lines: string[] = [];
  const init: string[] = [];
  if (body?.content?.['multipart/form-data']) {
    lines.push(`// ${t('api.fetchFileNote')}`, 'const form = new FormData();', "form.append('image', file);");
    init.push(`method: '${method}'`, 'body: form');
  } else if (method !== 'GET') {
    init.push(`method: '${method}'`);
  }
  if (auth) init.push("headers: { Authorization: 'Basic ' + btoa('USER:PASSWORD') }");
  lines.push(`const res = await fetch('${url}'${init.length ? `, { ${init.join(', ')} }` : ''});`);
  lines.push('console.log(await res.json());');
  return lines.join('\n');
}

function pythonExample(method: string, url: string, op: OpenAPIV3_1.OperationObject, auth: boolean): string {
  const body = op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
  const args = [`'${url}'`];
  const lines = ['import requests', ''];
  if (auth) args.push("auth=('USER', 'PASSWORD')");
  if (body?.content?.['multipart/form-data']) {
    lines.push("with open('photo.jpg', 'rb') as photo:");
    lines.push(`    res = requests.${method.toLowerCase()}(${[...args, "files={'image': photo}"].join(', ')})`);
  } else {
    lines.push(`res = requests.${method.toLowerCase()}(${args.join(', ')})`);
  }
  lines.push('print(res.json())');
  return lines.join('\n');
}

/** The document's own text in the page's language when the catalogue has it (the first key that exists), else the document's. */
function localised(t: Translate, keys: string[], fallback: string): string {
  const key = keys.find(isMessageKey);
  return key ? t(key) : fallback;
}

export function operationViews(doc: Document, serverUrl: string, auth: boolean, t: Translate = uiLocals().t): ApiOperationView[] {
  const out: ApiOperationView[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const m of METHODS) {
      const op = item?.[m] as OpenAPIV3_1.OperationObject | undefined;
      if (!op) continue;
      const method = m.toUpperCase();
      const url = `${serverUrl}${path}`;
      const body = op.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
      const id = op.operationId ?? `${m}-${path}`;
      const ok = (op.responses?.['200'] as OpenAPIV3_1.ResponseObject | undefined)?.content?.['application/json']?.example as unknown;
      out.push({
        id,
        method,
        path,
        summary: localised(t, [`apiop.${id}.summary`], op.summary ?? ''),
        descriptionHtml: inlineMarkdown(localised(t, [`apiop.${id}.description`], op.description ?? '')),
        parameters: ((op.parameters ?? []) as OpenAPIV3_1.ParameterObject[]).map((p) => ({
          name: p.name,
          where: p.in,
          required: Boolean(p.required),
          descriptionHtml: inlineMarkdown(
            localised(t, [`apiop.param.${p.name}`], p.description ?? (p.schema as OpenAPIV3_1.SchemaObject | undefined)?.description ?? ''),
          ),
        })),
        bodyTypes: Object.keys(body?.content ?? {}),
        responses: Object.entries(op.responses ?? {}).map(([status, r]) => ({
          status,
          descriptionHtml: inlineMarkdown(
            localised(
              t,
              [`apiop.${id}.response.${status}`, `apiop.response.${status}`],
              (r as OpenAPIV3_1.ResponseObject).description ?? '',
            ),
          ),
        })),
        example: ok === undefined ? '' : JSON.stringify(ok, null, 2),
        curl: curlExample(method, url, op, auth),
        fetch: fetchExample(method, url, op, auth, t),
        python: pythonExample(method, url, op, auth),
      });
    }
  }
  return out;
}
