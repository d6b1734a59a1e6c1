import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The `pg` imports of a source file: `import type` ones apart from those that load code. */
function pgImports(source: string): { types: number; runtime: number } {
  const all = [...source.matchAll(/^\s*import\s+(type\s+)?[^;]*?from\s+'pg';/gm)];
  const required = [...source.matchAll(/require\('pg'\)/g)].length;
  return {
    types: all.filter((m) => m[1]).length,
    runtime: all.filter((m) => !m[1]).length + required,
  };
}

describe('the ./postgres entry point', () => {
  it('is declared like ./redis: exports, typesVersions, jest mapping, pg an optional peer', () => {
    expect(pkg.exports['./postgres']).toEqual({
      types: './dist/postgres/index.d.ts',
      default: './dist/postgres/index.js',
    });
    expect(pkg.typesVersions['*'].postgres).toEqual(['dist/postgres/index.d.ts']);
    expect(pkg.jest.moduleNameMapper['^nestjs-cashy-payout/postgres$']).toBe(
      '<rootDir>/lib/postgres/index.ts',
    );
    expect(pkg.peerDependencies.pg).toMatch(/^\^8\./);
    expect(pkg.peerDependenciesMeta.pg).toEqual({ optional: true });
    expect(pkg.devDependencies.pg).toMatch(/^8\.\d+\.\d+$/);
    expect(pkg.devDependencies['@types/pg']).toMatch(/^8\.\d+\.\d+$/);
  });

  it('loads pg only where the store creates a pool of its own; nothing outside lib/postgres names it', () => {
    const dir = join(root, 'lib', 'postgres');
    const runtime = readdirSync(dir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => {
        const found = pgImports(readFileSync(join(dir, name), 'utf8'));
        return found.runtime > 0 ? [`${name}: ${found.runtime}`] : [];
      });
    expect(runtime).toEqual(['postgres-payout.store.ts: 1']);
    const outside = readdirSync(join(root, 'lib'), { recursive: true, encoding: 'utf8' })
      .filter((path) => path.endsWith('.ts') && !path.startsWith('postgres'))
      .filter((path) => {
        const found = pgImports(readFileSync(join(root, 'lib', path), 'utf8'));
        return found.types + found.runtime > 0;
      });
    expect(outside).toEqual([]);
  });
});
