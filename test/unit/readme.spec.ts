import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('README', () => {
  it('has a Quickstart that compiles against the package as published', () => {
    // Inside the repository, so its node_modules and tsconfig paths resolve as for any source file.
    const dir = mkdtempSync(join(ROOT, 'test', '.readme-'));
    try {
      const file = join(dir, 'quickstart.ts');
      writeFileSync(file, blockAfter('<!-- quickstart -->'));
      const config = ts.readConfigFile(
        join(ROOT, 'tsconfig.json'),
        ts.sys.readFile,
      );
      const { options } = ts.parseJsonConfigFileContent(
        config.config,
        ts.sys,
        ROOT,
      );
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
