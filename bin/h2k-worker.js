#!/usr/bin/env node
// h2k-worker: the built CLI (npm run build writes dist/cli/h2k-worker.mjs).
import '../dist/cli/h2k-worker.mjs';
