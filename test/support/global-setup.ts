/**
 * vitest globalSetup (integration, appliance and e2e projects): builds the test fixtures once per
 * run, before any test file starts. Cached: about a second when nothing changed.
 *
 * H2K_FIXTURE_GROUPS=pattern,bad limits the build to those groups (and what they depend on);
 * H2K_SKIP_FIXTURE_BUILD=1 skips it (the tests then find whatever the cache folder holds).
 */
import { ensureFixtures, FIXTURE_GROUPS, type FixtureGroup } from './fixtures';

export default async function setup(): Promise<void> {
  if (process.env.H2K_SKIP_FIXTURE_BUILD === '1') return;
  const wanted = (process.env.H2K_FIXTURE_GROUPS ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  for (const g of wanted) {
    if (!(FIXTURE_GROUPS as readonly string[]).includes(g)) {
      throw new Error(`H2K_FIXTURE_GROUPS: unknown group "${g}" (groups: ${FIXTURE_GROUPS.join(', ')})`);
    }
  }
  await ensureFixtures(wanted as FixtureGroup[]);
}
