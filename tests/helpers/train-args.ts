/** Parses `npm run train` arguments with the real options, without training (errors throw instead of exiting). */
import assert from 'node:assert/strict';
import { trainProgram, type TrainOptions } from '../../src/cli/train-options.js';

export function parseTrainArgs(args: string[]): TrainOptions {
  let parsed: TrainOptions | undefined;
  trainProgram()
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .action((o: TrainOptions) => {
      parsed = o;
    })
    .parse(args, { from: 'user' });
  assert.ok(parsed, `could not parse: ${args.join(' ')}`);
  return parsed;
}
