/**
 * Commands beyond the job basics, registered by feature: each feature adds its commands here
 * so main.ts only composes them.
 */
import type { Command } from 'commander';
import type { CliContext } from './main';

export function registerExtraCommands(_program: Command, _ctxOf: (cmd: Command) => CliContext): void {}
