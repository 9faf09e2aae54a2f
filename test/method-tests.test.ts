/**
 * A method's tests are found by its name: every method of the table has
 * test/methods/<name>.test.ts, whose top-level describe is that name, with
 * its specification in four describes: success, permission, bad params and
 * storage (what it writes or reads). Other topics (doors, transports,
 * security properties across methods, clients, the CLI, the web page) keep
 * their own files in test/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { methodTable } from '../src/methods/index.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'methods');
const SECTIONS = ['success', 'permission', 'bad params', 'storage'];

/** The titles of the describes at the top level of a file (a title that is not a string literal shows as such). */
function topLevelDescribes(source: string): string[] {
  return [...source.matchAll(/^describe(?:\.only|\.skip)?\((.*)$/gm)].map(([, rest]) => {
    const literal = /^\s*(['"`])((?:\\.|(?!\1).)*)\1\s*,/.exec(rest!);
    return literal ? literal[2]! : `<not a string literal: ${rest!.slice(0, 40)}>`;
  });
}

/** The titles of the nested describes a file has, at any depth. */
function nestedDescribes(source: string): Set<string> {
  return new Set([...source.matchAll(/^\s+describe\(\s*(['"`])((?:\\.|(?!\1).)*)\1\s*,/gm)].map((m) => m[2]!));
}

describe('method tests: test/methods/<method name>.test.ts', () => {
  for (const { name } of methodTable) {
    it(`${name}: its file exists, its one top-level describe is its name, and it has ${SECTIONS.join(', ')}`, () => {
      const file = path.join(DIR, `${name}.test.ts`);
      expect(fs.existsSync(file), `test/methods/${name}.test.ts is missing`).to.equal(true);
      const source = fs.readFileSync(file, 'utf8');
      expect(topLevelDescribes(source), `the top-level describe of test/methods/${name}.test.ts`).to.deep.equal([name]);
      const nested = nestedDescribes(source);
      for (const section of SECTIONS) expect(nested.has(section), `test/methods/${name}.test.ts has no describe('${section}')`).to.equal(true);
    });
  }

  it('holds no file for a method the table does not have', () => {
    const names = new Set(methodTable.map((m) => m.name));
    const strays = fs.readdirSync(DIR).filter((f) => !(f.endsWith('.test.ts') && names.has(f.slice(0, -'.test.ts'.length))));
    expect(strays, 'files in test/methods/ that name no method').to.deep.equal([]);
  });

  it('reads top-level describes as they are written', () => {
    const source = "describe('a.b', () => {\n  describe('success', () => {});\n});\ndescribe(NAME, () => {});\n";
    expect(topLevelDescribes(source)).to.deep.equal(['a.b', '<not a string literal: NAME, () => {});>']);
    expect([...nestedDescribes(source)]).to.deep.equal(['success']);
  });
});
