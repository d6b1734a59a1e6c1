import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..', '..');

/** The README's code block that follows `marker`. */
function blockAfter(marker: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(marker);
  expect(start).toBeGreaterThan(-1);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  return match![1];
}

/** The compiler options of tsconfig.json, as for any source file of the repository. */
function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return { ...options, noEmit: true, noUnusedLocals: false };
}

/** A ```ts block of a Markdown page: where it starts (`docs/webhooks.md:42`) and its code. */
interface CodeSample {
  name: string;
  code: string;
}

/** README.md and every docs/*.md, relative to the repository. */
function markdownPages(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .sort()
    .map((file) => `docs/${file}`);
  return ['README.md', ...docs];
}

/** A comment that exempts the next ```ts block, with its reason: `<!-- not-compiled: needs prom-client -->`. */
const NOT_COMPILED = /^<!--\s*not-compiled\b:?\s*(.*?)\s*-->$/;

/**
 * Every ```ts (or ```typescript) block of `page`, indented ones (inside a list item) included,
 * except a block whose previous non-blank line is a not-compiled comment with a reason.
 */
function codeSamples(page: string): CodeSample[] {
  const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
  const samples: CodeSample[] = [];
  let previous = '';
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) {
      if (lines[i].trim() !== '') previous = lines[i].trim();
      continue;
    }
    const [, indent, fence, language] = open;
    const start = i;
    const code: string[] = [];
    for (i += 1; i < lines.length; i += 1) {
      const line = lines[i];
      if (line.trim() === fence) break;
      code.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    const skip = NOT_COMPILED.exec(previous);
    previous = fence;
    if (language !== 'ts' && language !== 'typescript') continue;
    const name = `${page}:${start + 1}`;
    if (skip) {
      if (skip[1] === '') {
        throw new Error(`${name}: a not-compiled comment must give a reason`);
      }
      continue;
    }
    samples.push({ name, code: code.join('\n') });
  }
  return samples;
}

describe('README', () => {
  it('has a Quickstart that compiles against the package as published', () => {
    // Inside the repository, so its node_modules and tsconfig paths resolve as for any source file.
    const dir = mkdtempSync(join(ROOT, 'test', '.readme-'));
    try {
      const file = join(dir, 'quickstart.ts');
      writeFileSync(file, blockAfter('<!-- quickstart -->'));
      const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
      const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
      const program = ts.createProgram([file], {
        ...options,
        noEmit: true,
        noUnusedLocals: false,
      });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('every ```ts sample of README.md and docs/*.md', () => {
  const samples = markdownPages().flatMap(codeSamples);
  /** The type errors of each sample, by name; `program` holds those of no sample. */
  const problems = new Map<string, string[]>();

  beforeAll(() => {
    // One program for all samples, each in its own module, inside the repository as above.
    const dir = mkdtempSync(join(ROOT, 'test', '.readme-'));
    try {
      const files = new Map<string, string>();
      samples.forEach((sample, index) => {
        const file = join(dir, `sample-${index}.ts`);
        // `export {}` makes every sample a module, so samples never share top-level names.
        writeFileSync(file, `${sample.code}\nexport {};\n`);
        files.set(file, sample.name);
        problems.set(sample.name, []);
      });
      problems.set('program', []);
      const program = ts.createProgram([...files.keys()], compilerOptions());
      for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
        const file = diagnostic.file;
        const name = file ? files.get(file.fileName) : undefined;
        if (!file || name === undefined) {
          problems.get('program')!.push(message);
          continue;
        }
        const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        problems.get(name)!.push(`line ${line + 1}:${character + 1} of the block: ${message}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds the samples of every page', () => {
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.some((s) => s.name.startsWith('README.md:'))).toBe(true);
  });

  it('compiles as a whole', () => {
    expect(problems.get('program')).toEqual([]);
  });

  it.each(samples.map((sample) => sample.name))('%s compiles', (name) => {
    expect(problems.get(name)).toEqual([]);
  });
});
