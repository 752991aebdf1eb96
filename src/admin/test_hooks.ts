/**
 * Whether the test-only admin hooks (`/debug/block_worker`, `/debug/crash_worker`) are on, for
 * `weft proxy serve` and `weft tunnel serve` alike.
 *
 * @example
 * ```ts
 * testHooksEnabled(opts.testHooks, runtime.env(TEST_HOOKS_ENV)); // true for --test-hooks or WEFT_TEST_HOOKS=1
 * ```
 * @module
 */

/** The environment variable that turns the hooks on, as `--test-hooks` does. */
export const TEST_HOOKS_ENV = "WEFT_TEST_HOOKS";

/**
 * On with the `--test-hooks` flag or `WEFT_TEST_HOOKS=1`; any other value (`0`, `false`, empty)
 * leaves them off, so a variable set to turn them off cannot turn them on.
 */
export function testHooksEnabled(flag: boolean | undefined, env: string | undefined): boolean {
  return flag === true || env === "1";
}
