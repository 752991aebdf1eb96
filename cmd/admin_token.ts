/**
 * The `--admin-token` option the proxy and the tunnel share.
 *
 * @module
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";

/**
 * `--admin-token <token>` (or `WEFT_ADMIN_TOKEN`): every admin path then requires
 * `Authorization: Bearer <token>`. An empty token is refused: no request could present it, so
 * admin would be locked for good (an unset variable in a unit file gives one).
 *
 * @example Adding it to a command
 * ```ts
 * new Command("serve").addOption(adminTokenOption()).action((opts) => opts.adminToken);
 * ```
 */
export function adminTokenOption() {
  return new Option("--admin-token <token>", "require 'Authorization: Bearer <token>' on every admin path")
    .env("WEFT_ADMIN_TOKEN")
    .argParser((v: string): string => {
      if (v === "") throw new InvalidArgumentError("--admin-token must not be empty: no request could authenticate, admin would be locked");
      return v;
    });
}
