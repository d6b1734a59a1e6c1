import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import * as contract from '../../lib';
import * as testing from '../../lib/testing';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every bare module a file imports or requires, reduced to its package name. */
function importedPackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"]([^'"]+)['"]/g),
  ].map((m) => m[1]);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

/** Every lib file a module reaches through relative imports (type-only imports included), itself first. */
function reachableFiles(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const source = readFileSync(entry, 'utf8');
  for (const [, specifier] of source.matchAll(
    /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"](\.[^'"]*)['"]/g,
  )) {
    const base = resolve(dirname(entry), specifier);
    const file = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => {
      try {
        return statSync(candidate).isFile();
      } catch {
        return false;
      }
    });
    if (file) reachableFiles(file, seen);
  }
  return seen;
}

describe('package contract', () => {
  it('declares every package lib/ imports in dependencies or peerDependencies', () => {
    const declared = new Set([
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.peerDependencies ?? {}),
    ]);
    const undeclared = sourceFiles(join(root, 'lib')).flatMap((file) =>
      importedPackages(readFileSync(file, 'utf8'))
        .filter((name) => !declared.has(name))
        .map((name) => `${relative(root, file)} imports ${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('pins every devDependency and declares Nest peers for 11 and 12', () => {
    for (const [name, version] of Object.entries<string>(pkg.devDependencies))
      expect([name, version]).toEqual([name, expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
    expect(pkg.peerDependencies['@nestjs/common']).toBe('^11.0.0 || ^12.0.0');
    expect(pkg.peerDependencies['@nestjs/core']).toBe('^11.0.0 || ^12.0.0');
  });

  it('ships CommonJS with types through an exports map for . and ./testing', () => {
    expect(pkg.exports['.']).toEqual({
      types: './dist/index.d.ts',
      default: './dist/index.js',
    });
    expect(pkg.exports['./testing']).toEqual({
      types: './dist/testing/index.d.ts',
      default: './dist/testing/index.js',
    });
    expect(pkg.type).toBeUndefined();
    expect(pkg.files).toEqual(expect.arrayContaining(['dist/**/*.js', 'dist/**/*.d.ts']));
  });

  it('exports the public names design.md fixes', () => {
    for (const name of [
      'PayoutModule',
      'PayoutService',
      'PayoutSignatureGuard',
      'CreatePayoutDto',
      'QueryPayoutDto',
      'PayoutNotificationDto',
      'PAYOUT_SUCCEEDED',
      'PAYOUT_FAILED',
      'PayoutSucceededEvent',
      'PayoutFailedEvent',
      'OnPayoutSucceeded',
      'OnPayoutFailed',
      'PayoutError',
      'PayoutValidationError',
      'CashyApiError',
      'PayoutOutcomeUnknownError',
      'MemoryPayoutStore',
      'PayoutOrderConflictError',
      'PayoutExceptionFilter',
    ]) {
      expect([name, typeof (contract as Record<string, unknown>)[name]]).not.toEqual([
        name,
        'undefined',
      ]);
    }
    expect(contract.PAYOUT_SUCCEEDED).toBe('payout.succeeded');
    expect(contract.PAYOUT_FAILED).toBe('payout.failed');
    expect(typeof testing.CashySandbox).toBe('function');
  });

  it('ships ./terminus as its own entry point, and the main entry never loads @nestjs/terminus or @nestjs/swagger', () => {
    expect(pkg.exports['./terminus']).toEqual({
      types: './dist/terminus/index.d.ts',
      default: './dist/terminus/index.js',
    });
    expect(pkg.typesVersions['*'].terminus).toEqual(['dist/terminus/index.d.ts']);
    expect(pkg.jest.moduleNameMapper['^nestjs-cashy-payout/terminus$']).toBe(
      '<rootDir>/lib/terminus/index.ts',
    );
    expect(pkg.peerDependenciesMeta['@nestjs/terminus']).toEqual({
      optional: true,
    });

    const reachable = reachableFiles(join(root, 'lib', 'index.ts'));
    expect(reachable).toContain(join(root, 'lib', 'payout.module.ts')); // the walk follows imports
    expect(reachable).not.toContain(join(root, 'lib', 'terminus', 'index.ts'));
    const fromMain = [...reachable].flatMap((file) =>
      importedPackages(readFileSync(file, 'utf8'))
        .filter((name) => name === '@nestjs/terminus' || name === '@nestjs/swagger')
        .map((name) => `${relative(root, file)} imports ${name}`),
    );
    expect(fromMain).toEqual([]);
    const swaggerAnywhere = sourceFiles(join(root, 'lib')).filter((file) =>
      importedPackages(readFileSync(file, 'utf8')).includes('@nestjs/swagger'),
    );
    expect(swaggerAnywhere).toEqual([]);
  });

  it('ships ./config as its own entry point, and the main entry never loads @nestjs/config', () => {
    expect(pkg.exports['./config']).toEqual({
      types: './dist/config/index.d.ts',
      default: './dist/config/index.js',
    });
    expect(pkg.typesVersions['*'].config).toEqual(['dist/config/index.d.ts']);
    expect(pkg.jest.moduleNameMapper['^nestjs-cashy-payout/config$']).toBe(
      '<rootDir>/lib/config/index.ts',
    );
    expect(pkg.peerDependenciesMeta['@nestjs/config']).toEqual({
      optional: true,
    });
    const reachable = reachableFiles(join(root, 'lib', 'index.ts'));
    const fromMain = [...reachable].filter((file) =>
      importedPackages(readFileSync(file, 'utf8')).includes('@nestjs/config'),
    );
    expect(fromMain.map((file) => relative(root, file))).toEqual([]);
  });

  it('builds dist/ whenever the package is packed or installed from git (a clean checkout has none)', () => {
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.prepack).toBe('npm run build');
    expect(pkg.files).toEqual(
      expect.arrayContaining(['dist/**/*.js', 'dist/**/*.d.ts', 'README.md', 'LICENSE']),
    );
  });
});
