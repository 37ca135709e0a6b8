/**
 * Commands beyond the job basics, registered by feature: each feature adds its commands here
 * so main.ts only composes them.
 */
import type { Command } from 'commander';
import type { CliContext } from './main';
import { registerServeCommand } from './serve-command';
import { registerConvertCommand } from './convert-command';
import { registerInspectCommand } from './inspect-command';

export function registerExtraCommands(program: Command, ctxOf: (cmd: Command) => CliContext): void {
  registerServeCommand(program, ctxOf);
  registerConvertCommand(program, ctxOf);
  registerInspectCommand(program, ctxOf);
}
