/** Test entry: runs `weft tunnel …` without depending on cmd/main.ts. */
import process from "node:process";
import { Command } from "@commander-js/extra-typings";
import { tunnelCommand } from "../../cmd/tunnel.ts";

await new Command("weft").addCommand(tunnelCommand()).parseAsync(process.argv);
