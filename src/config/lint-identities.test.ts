import { describe, expect, it } from 'vitest';
import { lintConfig } from './lint.ts';
import { checkConfigText, parseConfigText } from './load.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const KNOWN = { permissions: ['domain.list'], groups: { read: ['domain.list'] } };
const HOSTS = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`;

const identityFindings = (yaml: string) =>
  lintConfig(parseConfigText(HOSTS + yaml, 'test', {}), KNOWN).filter((f) => f.path.includes('.identities.'));

/**
 * The schema takes any text or whole number as a platform id (channel ids may be `*` or negative): an identity that no
 * platform would ever send left that person unrecognised, every command of theirs refused, and nothing said why.
 */
describe('people.*.identities that no platform ever sends', () => {
  it('a Telegram identity that is not a whole number is an error with its path', () => {
    expect(identityFindings('people:\n  alice: { identities: { telegram: abc } }\n  bob: { identities: { telegram: "12 34" } }\n')).toEqual(
      [
        {
          path: 'people.alice.identities.telegram',
          message: '"abc" is no Telegram user id (a whole number, such as 123456789): alice can never be recognised on Telegram',
          severity: 'error',
        },
        {
          path: 'people.bob.identities.telegram',
          message: '"12 34" is no Telegram user id (a whole number, such as 123456789): bob can never be recognised on Telegram',
          severity: 'error',
        },
      ],
    );
  });

  it('a Discord identity that is not 17 to 20 digits is an error with its path', () => {
    expect(
      identityFindings(
        'people:\n  alice: { identities: { discord: "12" } }\n  bob: { identities: { discord: "bob#1234" } }\n  carol: { identities: { discord: "123456789012345678901" } }\n',
      ),
    ).toEqual(
      ['alice', 'bob', 'carol'].map((person) => ({
        path: `people.${person}.identities.discord`,
        message: expect.stringMatching(
          new RegExp(
            `^".+" is no Discord user id \\(a snowflake: 17 to 20 digits, from Copy User ID in Developer Mode\\): ${person} can never be recognised on Discord$`,
          ),
        ),
        severity: 'error',
      })),
    );
  });

  it('takes real ids as YAML writes them: a number or text, a Telegram id of any length, a snowflake of 17 to 20 digits', () => {
    const yaml = [
      'people:',
      '  alice: { identities: { terminal: alice, telegram: 1001, discord: "200000000000000001" } }',
      '  bob: { identities: { telegram: "123456789", discord: "12345678901234567" } }',
      '  carol: { identities: { telegram: 7, discord: "12345678901234567890" } }',
      // A message sent on behalf of a channel comes from the channel's (negative) id.
      '  dave: { identities: { telegram: -1001234567890 } }',
      '',
    ].join('\n');
    expect(identityFindings(yaml)).toEqual([]);
  });

  it('says nothing more of an id the schema refused already (check-config lints the raw document too)', () => {
    // 18 digits unquoted: YAML rounds it, and the schema says to quote it.
    const checked = checkConfigText(`${HOSTS}people:\n  alice: { identities: { discord: 200000000000000001 } }\n`, {});
    expect(checked.issues.map((i) => i.path)).toEqual(['people.alice.identities.discord']);
    const refused = new Set(checked.issues.map((i) => i.path));
    expect(lintConfig(checked.raw, KNOWN).filter((f) => !refused.has(f.path))).toEqual([]);
  });
});
