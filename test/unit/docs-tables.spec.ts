import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { SANDBOX_FAULT_EFFECTS, SANDBOX_TRIGGERS } from '../../lib/testing';
import { SANDBOX_DEFAULTS } from '../../lib/testing/sandbox-options.resolver';

/**
 * The tables docs/ shows of data the code holds are that data, rendered: one copy, which the
 * code owns. A table stands right after `<!-- table: NAME -->` and ends at the first blank line.
 */
const TABLES: Record<string, { page: string; render: () => string[][] }> = {
  SANDBOX_FAULT_EFFECTS: {
    page: 'docs/testing.md',
    render: () => [
      ['fault mode', 'effect'],
      ...Object.entries(SANDBOX_FAULT_EFFECTS).map(([mode, effect]) => [`\`${mode}\``, effect]),
    ],
  },
  SANDBOX_TRIGGERS: {
    page: 'docs/testing.md',
    render: () => [
      ['remark', 'notifications', 'currencies'],
      ...SANDBOX_TRIGGERS.map((t) => [`\`${t.remark}\``, t.notifications, t.currencies.join(', ')]),
    ],
  },
};

function markdownTable([head, ...rows]: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function read(page: string): string {
  return readFileSync(join(__dirname, '..', '..', page), 'utf8');
}

function tableAfter(page: string, name: string): string {
  const text = read(page);
  const marker = `<!-- table: ${name} -->\n`;
  const start = text.indexOf(marker);
  if (start < 0) throw new Error(`${page} has no "${marker.trim()}"`);
  const body = text.slice(start + marker.length);
  return body.slice(0, body.search(/\n\s*\n|$/)).trim();
}

describe('tables in docs/', () => {
  it.each(Object.entries(TABLES))('%s is rendered from the code', (name, { page, render }) => {
    expect(tableAfter(page, name)).toBe(markdownTable(render()));
  });

  it('every table marker in docs/ names a table rendered here', () => {
    const pages = readdirSync(join(__dirname, '..', '..', 'docs')).filter((f) => f.endsWith('.md'));
    const marked = pages.flatMap((file) =>
      [...read(`docs/${file}`).matchAll(/<!-- table: (\w+) -->/g)].map((m) => m[1]),
    );
    expect(marked.sort()).toEqual(Object.keys(TABLES).sort());
  });

  it("docs/testing.md's sandbox options show the defaults the sandbox applies", () => {
    const text = read('docs/testing.md');
    const shown = Object.keys(SANDBOX_DEFAULTS).map((option) => {
      const row = text.match(new RegExp(`^\\| \`${option}\` \\| ([^|]+) \\|`, 'm'));
      return [option, row?.[1].trim()];
    });
    expect(shown).toEqual(
      Object.entries(SANDBOX_DEFAULTS).map(([option, value]) => [option, String(value)]),
    );
  });
});
