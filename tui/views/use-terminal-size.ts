import { useStdout } from "ink";
import { useEffect, useState } from "react";

/** Terminal size in cells. */
export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

function read(stdout: NodeJS.WritableStream): TerminalSize {
  const tty = stdout as Partial<Pick<NodeJS.WriteStream, "columns" | "rows">>;
  return { columns: tty.columns || 80, rows: tty.rows || 24 };
}

/**
 * The terminal's size from Ink's stdout (80×24 when it does not say), following resizes. A fixed
 * size, when given, wins (tests, recordings of a known size).
 */
export function useTerminalSize(fixed?: TerminalSize): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState<TerminalSize>(() => fixed ?? read(stdout));
  useEffect(() => {
    if (fixed) return;
    const onResize = () => setSize(read(stdout));
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout, fixed]);
  return fixed ?? size;
}
