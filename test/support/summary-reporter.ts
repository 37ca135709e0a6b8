// Prints one plain closing line, "tests: N passed, N failed, N skipped", so any CI reader can
// count the run whatever runner it knows. Skips are listed by name with their reason above it.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const mod of modules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else if (state === 'skipped') skipped.push(`${mod.moduleId.replace(process.cwd() + '/', '')} > ${test.fullName}${test.options.mode === 'todo' ? ' (todo)' : ''}`);
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) failed++;
    }
    if (skipped.length) console.log(`\nskipped tests (each counts as red until it runs):\n${skipped.map((s) => '  - ' + s).join('\n')}`);
    console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped.length} skipped`);
  }
}
