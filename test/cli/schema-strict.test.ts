/**
 * The editor's JSON Schema is as strict as `yalb check` (issue 13, item 7):
 *  - every file of test/fixtures/config/invalid/ (one mistake each) is
 *    refused by what `yalb check` runs (loadConfig: issues at
 *    file:line:col) and by ajv on config/lb.schema.json, draft-07 as the
 *    schema declares; the message an editor would show (yaml-language-server:
 *    patternErrorMessage, then errorMessage, then its own text) matches the
 *    file's `# editor:` line. The real CLI is spawned for a sample of them
 *    and for every valid file (a spawn per fixture cost 1-2 s on a busy
 *    2-core machine);
 *  - the shipped configs (lb.yaml, config/lb.full.yaml, the examples, the
 *    valid fixtures) are accepted by both;
 *  - the known gaps, rules JSON Schema cannot say, are files in
 *    test/fixtures/config/schema-gaps/ that `yalb check` refuses and the
 *    schema accepts. Should the schema learn one, this test fails and the
 *    file moves to invalid/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ErrorObject } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { formatIssue, loadConfig } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';
import { describeErrors, newAjv } from '../helpers/json-schema.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/config');
const schema = JSON.parse(readFileSync(path.join(ROOT, 'config/lb.schema.json'), 'utf8')) as Record<string, unknown>;
const ajv = newAjv();
ajv.opts.verbose = true;
const validate = ajv.compile(schema);

const yamlFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(dir, f));

/** editorMessage is what yaml-language-server shows for an ajv error: the schema's own message keywords first. */
function editorMessage(e: ErrorObject): string {
  const s = (e.parentSchema ?? {}) as { errorMessage?: string; patternErrorMessage?: string };
  if (e.keyword === 'pattern') return s.patternErrorMessage ?? s.errorMessage ?? e.message ?? '';
  if (e.keyword === 'type' || e.keyword === 'const' || e.keyword === 'required' || e.keyword === 'enum') return s.errorMessage ?? e.message ?? '';
  return e.message ?? '';
}

/** judge runs the schema on a YAML text, as an editor does on the parsed document. */
function judge(text: string): { ok: boolean; messages: string[] } {
  const ok = validate(parse(text));
  return { ok, messages: (validate.errors ?? []).map(editorMessage) };
}

describe('invalid configs: yalb check and the JSON Schema both refuse them', () => {
  const files = yamlFiles(path.join(FIX, 'invalid'));
  it('there are enough of them to mean something', () => assert.ok(files.length >= 30, String(files.length)));
  for (const file of files) {
    it(path.basename(file), async () => {
      const text = readFileSync(file, 'utf8');
      const r = await loadConfig(file);
      assert.equal(r.ok, false, 'yalb check accepts it');
      if (!r.ok) for (const i of r.issues) assert.match(formatIssue(i), /:\d+:\d+: /);
      const editor = judge(text);
      assert.equal(editor.ok, false, 'the JSON Schema accepted it');
      const want = /^# editor: (.*)$/m.exec(text)?.[1];
      assert.ok(want, 'the fixture names the editor message in a "# editor:" line');
      assert.ok(editor.messages.some((m) => new RegExp(want).test(m)), `no editor message matches /${want}/:\n${editor.messages.join('\n')}`);
    });
  }
});

describe('invalid configs through the real CLI: exit 1 and file:line:col', () => {
  for (const name of ['interval-words.yaml', 'listen-negative.yaml', 'trusted-proxies-name.yaml', 'hashkey-without-hash.yaml']) {
    it(name, async () => {
      const file = path.join(FIX, 'invalid', name);
      const r = await runCli(['check', '-c', file]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, new RegExp(`${name.replace('.', '\\.')}:\\d+:\\d+: `));
    });
  }
});

describe('valid configs: yalb check and the JSON Schema both accept them', () => {
  const configMapLbYaml = (): string => {
    const docs = parseAllDocuments(readFileSync(path.join(ROOT, 'examples/kubernetes/configmap.yaml'), 'utf8'));
    const text = docs.map((d) => (d.toJS() as { data?: Record<string, string> } | null)?.data?.['lb.yaml']).find((t) => t !== undefined);
    assert.ok(text, 'the ConfigMap holds lb.yaml');
    return text;
  };
  const files = [
    path.join(ROOT, 'lb.yaml'),
    path.join(ROOT, 'config/lb.full.yaml'),
    path.join(ROOT, 'examples/docker/lb.yaml'),
    ...yamlFiles(FIX).filter((f) => path.basename(f).startsWith('valid-')),
  ];
  for (const file of files) {
    it(path.relative(ROOT, file), async () => {
      const r = await runCli(['check', '-c', file]);
      // valid-full.yaml names certificate files under /etc/yalb/ that yalb check reads (the schema cannot):
      // every other problem still fails the test.
      const problems = r.stderr.split('\n').filter((l) => / tls\.[\w.]+: cannot read /.test(l) === false && /:\d+:\d+: /.test(l));
      assert.equal(problems.length === 0 ? 0 : r.code, 0, r.stderr);
      const editor = judge(readFileSync(file, 'utf8'));
      assert.ok(editor.ok, describeErrors(validate.errors));
    });
  }
  it('examples/kubernetes/configmap.yaml (its lb.yaml, through -c -)', async () => {
    const text = configMapLbYaml();
    const r = await runCli(['check', '-c', '-'], { input: text });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(judge(text).ok, describeErrors(validate.errors));
  });
});

describe('known gaps: rules yalb check enforces that JSON Schema cannot say', () => {
  for (const file of yamlFiles(path.join(FIX, 'schema-gaps'))) {
    it(path.basename(file, '.yaml'), async () => {
      const r = await loadConfig(file);
      assert.equal(r.ok, false, 'yalb check accepts it: not a gap any more, delete the file');
      assert.equal(judge(readFileSync(file, 'utf8')).ok, true, 'the JSON Schema refuses it now: move the file to invalid/ with an "# editor:" line');
    });
  }

  // The other way round: forms the WHATWG URL parser repairs and yalb check so accepts, which the
  // schema flags, on purpose (an editor warning on a typo is worth it).
  for (const url of ['http:127.0.0.1:3031', 'http:/127.0.0.1:3031', 'http:///127.0.0.1:3031', 'http:\\\\127.0.0.1:3031']) {
    it(`stricter than yalb check: backend url ${url}`, async () => {
      const text = `backends:\n  - url: '${url}'\n`;
      const r = await runCli(['check', '-c', '-'], { input: text });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(judge(text).ok, false);
    });
  }
});
