import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
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
  const specifiers = [...source.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]));
}

describe('package contract', () => {
  it('declares every package lib/ imports in dependencies or peerDependencies', () => {
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    const undeclared = sourceFiles(join(root, 'lib')).flatMap((file) =>
      importedPackages(readFileSync(file, 'utf8'))
        .filter((name) => !declared.has(name))
        .map((name) => `${relative(root, file)} imports ${name}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('pins every devDependency and declares Nest peers for 11 and 12', () => {
    for (const [name, version] of Object.entries<string>(pkg.devDependencies)) expect([name, version]).toEqual([name, expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
    expect(pkg.peerDependencies['@nestjs/common']).toBe('^11.0.0 || ^12.0.0');
    expect(pkg.peerDependencies['@nestjs/core']).toBe('^11.0.0 || ^12.0.0');
  });

  it('ships CommonJS with types through an exports map for . and ./testing', () => {
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(pkg.exports['./testing']).toEqual({ types: './dist/testing/index.d.ts', default: './dist/testing/index.js' });
    expect(pkg.type).toBeUndefined();
    expect(pkg.files).toEqual(expect.arrayContaining(['dist/**/*.js', 'dist/**/*.d.ts']));
  });

  it('exports the public names design.md fixes', () => {
    for (const name of [
      'PayoutModule', 'PayoutService', 'PayoutSignatureGuard', 'CreatePayoutDto', 'QueryPayoutDto', 'PayoutNotificationDto',
      'PAYOUT_SUCCEEDED', 'PAYOUT_FAILED', 'PayoutSucceededEvent', 'PayoutFailedEvent', 'OnPayoutSucceeded', 'OnPayoutFailed',
      'PayoutError', 'PayoutValidationError', 'CashyApiError', 'PayoutOutcomeUnknownError', 'MemoryPayoutStore',
    ]) {
      expect([name, typeof (contract as Record<string, unknown>)[name]]).not.toEqual([name, 'undefined']);
    }
    expect(contract.PAYOUT_SUCCEEDED).toBe('payout.succeeded');
    expect(contract.PAYOUT_FAILED).toBe('payout.failed');
    expect(typeof testing.CashySandbox).toBe('function');
  });
});
