/**
 * English and Bahasa Indonesia: the two catalogues match key for key (and
 * placeholder for placeholder), every key the templates use exists, no
 * template has a hard-coded sentence left, and a real server answers in the
 * language of Accept-Language, of ?lang= and of the cookie that remembers it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { en } from '../../src/server/i18n/en.js';
import { HttpError, toPublicError } from '../../src/server/http/errors.js';
import { ImageInputError } from '../../src/inference/decode.js';
import { id } from '../../src/server/i18n/id.js';
import { isMessageKey, translator } from '../../src/server/i18n/index.js';
import { loadExamples } from '../../src/server/present/examples.js';
import { PROJECT_ROOT, VIEWS_DIR } from '../../src/server/paths.js';
import { LABELS } from '../../src/types.js';
import { facePng } from '../helpers/images.js';
import { makeTestModels, type TestModels } from '../helpers/models.js';
import { startSharingServer, type SharingServer } from '../helpers/sharing-server.js';

function templates(): Array<{ file: string; text: string }> {
  return fs
    .readdirSync(VIEWS_DIR, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.eta'))
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      return { file: path.relative(VIEWS_DIR, file), text: fs.readFileSync(file, 'utf8') };
    });
}

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
const tags = (s: string) => [...s.matchAll(/<\/?(\w+)/g)].map((m) => m[0]).sort();

describe('catalogues', () => {
  test('Indonesian has every English key, with the same placeholders and markup', () => {
    assert.deepEqual(Object.keys(id).sort(), Object.keys(en).sort());
    for (const [key, english] of Object.entries(en)) {
      const indonesian = id[key as keyof typeof en];
      assert.ok(indonesian.trim().length > 0, `${key} is empty in id`);
      assert.deepEqual(placeholders(indonesian), placeholders(english), `${key}: placeholders`);
      assert.deepEqual(tags(indonesian), tags(english), `${key}: markup`);
    }
    // Most strings really are translated (a few, like "Model" or "curl", are the same word).
    const same = Object.keys(en).filter((k) => en[k as keyof typeof en] === id[k as keyof typeof en]);
    assert.ok(same.length < Object.keys(en).length * 0.1, `untranslated: ${same.join(', ')}`);
  });

  test('the seven labels and every example photo have names in both languages', () => {
    for (const l of LABELS) assert.ok(isMessageKey(`label.${l}`), l);
    assert.deepEqual(
      LABELS.map((l) => translator('id')(`label.${l}`)),
      ['marah', 'jijik', 'takut', 'senang', 'sedih', 'terkejut', 'netral'],
    );
    for (const ex of loadExamples().list) assert.ok(isMessageKey(`example.${ex.id}`), `example.${ex.id}`);
  });

  test('every key a template uses exists', () => {
    for (const { file, text } of templates()) {
      for (const m of text.matchAll(/it\.th?\(\s*'([^']+)'/g)) {
        if (m[1].endsWith('.')) continue; // built at run time ('label.' + name): checked above
        assert.ok(isMessageKey(m[1]), `${file}: unknown key ${m[1]}`);
      }
    }
  });

  test('no template has a hard-coded user-facing string', () => {
    const allowed = new Set(['ekspresi', 'ms', 'F1', 'p']);
    for (const { file, text } of templates()) {
      const html = text
        .replace(/<%[\s\S]*?%>/g, ' ') // eta: code and output
        .replace(/<(pre|code)\b[^>]*>[\s\S]*?<\/\1>/g, ' '); // commands and code are not language
      // Attributes people read: alt, title, placeholder, aria-label.
      for (const m of html.matchAll(/\s(alt|title|placeholder|aria-label)="([^"]*)"/g)) {
        assert.doesNotMatch(m[2], /[A-Za-z]{2,}/, `${file}: ${m[1]}="${m[2]}" is hard-coded`);
      }
      const textNodes = html.replace(/<[^>]*>/g, ' ').replace(/&\w+;/g, ' ');
      const words = (textNodes.match(/[A-Za-z][A-Za-z'’]+/g) ?? []).filter((w) => !allowed.has(w));
      assert.deepEqual(words, [], `${file}: hard-coded words`);
    }
  });

  test('errors carry a message key and its parameters: English in the message, Indonesian where shown', () => {
    const t = translator('id');
    const say = (e: unknown) => {
      const p = toPublicError(e);
      return p.key ? t(p.key, p.params) : p.message;
    };
    const unknown = new HttpError(400, 'err.unknownModel', { id: 'x', list: 'a, b' });
    assert.equal(unknown.message, 'There is no model called "x". Available: a, b.');
    assert.equal(say(unknown), 'Tidak ada model bernama "x". Yang tersedia: a, b.');
    const big = new ImageInputError('too_many_pixels', 'err.tooManyPixels', { mp: 50 });
    assert.equal(toPublicError(big).status, 422);
    assert.match(say(big), /50/);
    assert.notEqual(say(big), big.message, 'said in Indonesian');
    // A sentence already in the reader's language passes as it is; anything unexpected says nothing internal.
    assert.equal(say(new HttpError(429, 'Tunggu 3 detik.')), 'Tunggu 3 detik.');
    assert.equal(say(new Error('ENOENT /secret/path')), t('err.server'));
  });
});

describe('the language of a real server', () => {
  let models: TestModels;
  let server: SharingServer;
  before(async () => {
    models = await makeTestModels();
    server = await startSharingServer(models.dir);
  });
  after(async () => {
    await server?.close();
    await models?.cleanup();
  });

  const page = async (headers: Record<string, string>, p = '/') => {
    const res = await fetch(server.url + p, { headers });
    return { res, html: await res.text() };
  };

  test('Accept-Language chooses; English is the fallback', async () => {
    for (const [header, lang] of [
      ['id-ID,id;q=0.9,en;q=0.8', 'id'],
      ['in', 'id'],
      ['en-GB', 'en'],
      ['fr-FR,de;q=0.5', 'en'],
      ['fr, id;q=0.3', 'id'],
    ]) {
      const { res, html } = await page({ 'Accept-Language': header });
      assert.match(html, new RegExp(`<html lang="${lang}"`), header);
      assert.equal(res.headers.get('content-language'), lang);
      assert.match(res.headers.get('vary') ?? '', /Accept-Language/);
      assert.ok(html.includes(`<h1>${translator(lang as 'en' | 'id')('index.h1')}</h1>`), header);
    }
  });

  test('?lang= switches and a cookie remembers it; the switch links stay on the page', async () => {
    const { res, html } = await page({ 'Accept-Language': 'en' }, '/flagged?lang=id');
    assert.match(html, /<html lang="id"/);
    assert.match(html, new RegExp(translator('id')('flagged.title')));
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
    assert.equal(cookie, 'lang=id');
    const again = await page({ 'Accept-Language': 'en', Cookie: cookie }, '/api');
    assert.match(again.html, /<html lang="id"/);
    assert.match(again.html, /<a href="\/api\?lang=en" hreflang="en" lang="en">English<\/a>/);
    assert.match(again.html, /hreflang="id" lang="id" aria-current="true">Bahasa Indonesia</);
    // An unknown language is ignored.
    assert.match((await page({ 'Accept-Language': 'en' }, '/?lang=xx')).html, /<html lang="en"/);
  });

  test('results, labels, flag control and errors in Indonesian', async () => {
    const t = translator('id');
    const fd = new FormData();
    fd.append('image', new Blob([new Uint8Array(await facePng(96))], { type: 'image/png' }), 'a.png');
    fd.append('whole', '1');
    const res = await fetch(`${server.url}/predict`, {
      method: 'POST',
      body: fd,
      headers: { 'HX-Request': 'true', 'Accept-Language': 'id' },
    });
    const html = await res.text();
    for (const l of LABELS) assert.ok(html.includes(`>${t(`label.${l}`)}</label>`), l);
    assert.ok(html.includes(t('flag.summary')));
    const noFile = await fetch(`${server.url}/predict`, {
      method: 'POST',
      body: new FormData(),
      headers: { 'HX-Request': 'true', 'Accept-Language': 'id' },
    });
    assert.equal(noFile.status, 400);
    const err = await noFile.text();
    assert.ok(err.includes(t('error.title')) && err.includes(t('err.noPhoto')), err);
    const api = await fetch(`${server.url}/api/predict?model=nope`, {
      method: 'POST',
      body: new Uint8Array(await facePng(64)),
      headers: { 'Accept-Language': 'id', 'content-type': 'image/png' },
    });
    assert.match(((await api.json()) as { error: string }).error, /^Tidak ada model bernama "nope"/);
  });
});

describe('the Indonesian /compare and /api pages', () => {
  let server: SharingServer;
  // The shipped models and their comparison: the texts `npm run compare` really wrote.
  before(async () => {
    server = await startSharingServer(path.join(PROJECT_ROOT, 'models'), { flag: false });
  });
  after(async () => {
    await server?.close();
  });

  /** What a reader meets: the HTML without scripts, chart data, code samples and notes marked as English. */
  const readable = (html: string) =>
    html
      .replace(/<script\b[\s\S]*?<\/script>/g, ' ')
      .replace(/\sdata-(series|labels)="[^"]*"/g, ' ')
      .replace(/<pre\b[\s\S]*?<\/pre>/g, ' ')
      .replace(/<p class="note" lang="en">[\s\S]*?<\/p>/g, ' ')
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');

  /** Sentences these pages used to show in English whatever the language, and the catalogue's own phrases of three words or more. */
  const knownEnglish = (): string[] => {
    const fixed = [
      'Accuracy',
      'Size on disk',
      'Latency per face',
      'faces predicted as',
      'taken for',
      'exact binomial',
      'continuity-corrected',
      'backend) on',
      'rows (',
      'the other way round',
      'is better, and',
      'no real difference',
      'validation set during training',
      'mirror image',
      'Built for faces',
      'Trained by',
      'Trained on FER2013',
      'bilinear resize',
      'facesToTensor:',
      'Changes:',
      'The request is wrong',
      'Model id from',
      'most accurate model',
      'the photo is one face',
      'Grad-CAM heatmap per face',
      'The server is up',
      'is a File, e.g.',
      'Too many requests',
      'The upload',
      'Not an image',
      'numbered left to right',
      'faces)',
    ];
    const phrases = Object.entries(en)
      .filter(([k, v]) => /^(compare|api|apiop|cmptext)\./.test(k) && v !== id[k as keyof typeof en])
      .flatMap(([, v]) => v.split(/\{\w+\}|<[^>]+>|`[^`]*`/))
      .map((s) => s.trim())
      .filter((s) => s.split(/\s+/).length >= 3);
    return [...fixed, ...phrases];
  };

  for (const where of ['/compare', '/api']) {
    test(`${where}?lang=id has no English text left`, async () => {
      const html = await (await fetch(`${server.url}${where}?lang=id`)).text();
      assert.match(html, /<html lang="id"/);
      const text = readable(html);
      const left = knownEnglish().filter((s) => text.includes(s));
      assert.deepEqual(left, [], `${where} in Indonesian still says`);
      if (where === '/compare') {
        const f1Head = /<table class="compare-table" id="f1-table">[\s\S]*?<\/thead>/.exec(html)![0];
        for (const l of LABELS) assert.ok(f1Head.includes(`>${translator('id')(`label.${l}`)}<`), `F1 column ${l}`);
      }
      // ...and the same check finds them on the English page (it is not blind).
      const english = readable(await (await fetch(`${server.url}${where}?lang=en`)).text());
      assert.ok(knownEnglish().filter((s) => english.includes(s)).length >= 10, `${where} in English`);
    });
  }
});
