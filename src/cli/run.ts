/** Runs a commander program and turns any error into one readable line and exit code 1 (no stack trace for users). */
import type { Command } from 'commander';

export async function runCli(program: Command, argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const err = e as Error;
    console.error(`error: ${err.message}`);
    if (process.env.DEBUG) console.error(err.stack);
    process.exitCode = 1;
  }
}
