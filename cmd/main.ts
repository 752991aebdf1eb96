/**
 * The `weft` command: `deno run -A cmd/main.ts …`, `bun cmd/main.ts …`, or the compiled binary.
 * Subcommands load their modules when they run, so `weft proxy serve` never loads React.
 *
 * @module
 */
import process from "node:process";
import { Command } from "@commander-js/extra-typings";
import { inspectCommand } from "./inspect.ts";
import { proxyCommand } from "./proxy.ts";
import { tunnelCommand } from "./tunnel.ts";
import { VERSION } from "./version.ts";

const program = new Command("weft")
  .description("an Envoy-style edge proxy, a ztunnel-style node tunnel and a live inspector, on Deno and Bun")
  .version(VERSION, "-v, --version")
  .showHelpAfterError()
  .addCommand(proxyCommand())
  .addCommand(tunnelCommand())
  .addCommand(inspectCommand());

await program.parseAsync(process.argv);
