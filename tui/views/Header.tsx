import { Text } from "ink";
import type { Snapshot } from "../../src/admin/wire.ts";
import type { ConnState } from "../client/source.ts";
import { formatDuration } from "../format.ts";
import type { Screen, ViewId } from "../state/types.ts";
import { VIEWS } from "../state/types.ts";

/** Props of {@link Header}. */
export interface HeaderProps {
  readonly snapshot: Snapshot | undefined;
  readonly conn: ConnState | undefined;
  /** The admin URL or recording attached to. */
  readonly source: string;
  readonly dropped: number;
  /** Live pause, with how many snapshots are held. */
  readonly paused: boolean;
  readonly held: number;
  readonly warnings: number;
  readonly errors: number;
  /** Current time, for the reconnect countdown. */
  readonly now: number;
}

/** Seconds left before the next reconnect attempt, rounded up. */
export function reconnectIn(conn: Extract<ConnState, { kind: "reconnecting" }>, now: number): number {
  return Math.max(0, Math.ceil((conn.retryAt - now) / 1000));
}

function ConnLine({ conn, now }: { readonly conn: ConnState | undefined; readonly now: number }) {
  if (!conn) return <Text color="yellow">◌ starting</Text>;
  switch (conn.kind) {
    case "connecting":
      return <Text color="yellow">◌ connecting{conn.attempt > 0 ? ` (attempt ${conn.attempt + 1})` : ""}…</Text>;
    case "connected":
      return <Text color="green">● connected</Text>;
    case "reconnecting":
      return (
        <Text color="red">
          ○ reconnecting in {reconnectIn(conn, now)} s<Text dimColor>{conn.error ? ` (${conn.error})` : ""}</Text>
        </Text>
      );
    case "replay":
      return (
        <Text color="cyan">
          {conn.playing ? "▶" : "⏸"} replay {conn.index + 1}/{conn.total}
          {!conn.playing && conn.index + 1 >= conn.total ? " (end)" : ""}
        </Text>
      );
  }
}

/** Two lines: the instance (mode, version, uptime, concurrency, admin URL), then the stream's state. */
export function Header(props: HeaderProps) {
  const { snapshot, conn } = props;
  const server = snapshot?.server;
  const replayPaused = conn?.kind === "replay" && !conn.playing;
  // While the stream is down, the instance line describes the last snapshot: draw it dim.
  const stale = conn?.kind === "reconnecting" || conn?.kind === "connecting";
  return (
    <>
      <Text wrap="truncate" dimColor={stale}>
        <Text bold color="magenta">weft</Text>
        {server
          ? (
            <>
              {" "}
              <Text bold>{server.mode}</Text> {server.version} ·{" "}
              <Text color={server.state === "LIVE" || stale ? undefined : "yellow"}>{server.state}</Text> · up{" "}
              {formatDuration(server.uptimeS * 1000)} · {server.concurrency} workers · {props.source}
              <Text dimColor>{` · ${server.runtime} · pid ${server.pid}`}</Text>
            </>
          )
          : <Text>{` inspect · ${props.source} · waiting for the first snapshot`}</Text>}
      </Text>
      <Text wrap="truncate">
        <ConnLine conn={conn} now={props.now} />
        {snapshot ? <Text dimColor>{`  seq ${snapshot.seq}`}</Text> : null}
        <Text color={props.dropped > 0 ? "yellow" : undefined} dimColor={props.dropped === 0}>
          {`  dropped ${props.dropped}`}
        </Text>
        {props.paused || replayPaused
          ? <Text color="yellow" bold>{`  PAUSED${props.paused && props.held > 0 ? ` (+${props.held})` : ""}`}</Text>
          : null}
        {props.warnings > 0
          ? (
            <Text color={props.errors > 0 ? "red" : "yellow"}>
              {`  ⚠ ${props.warnings} warning${props.warnings === 1 ? "" : "s"}`}
            </Text>
          )
          : <Text dimColor>  0 warnings</Text>}
      </Text>
    </>
  );
}

const TITLES: Readonly<Record<ViewId, string>> = {
  workers: "Workers",
  connections: "Connections",
  tasks: "Tasks",
  stats: "Stats",
  clusters: "Clusters",
};

/** Props of {@link ViewTabs}. */
export interface ViewTabsProps {
  readonly screen: Screen;
}

/** The view tabs, current one highlighted, with a breadcrumb in detail screens. */
export function ViewTabs({ screen }: ViewTabsProps) {
  const current = screen.kind === "list" ? screen.view : screen.from;
  return (
    <Text wrap="truncate">
      {VIEWS.map((v, i) => (
        <Text key={v} inverse={v === current} bold={v === current}>
          {` ${i + 1} ${TITLES[v]} `}
        </Text>
      ))}
      {screen.kind === "worker" ? <Text bold color="cyan">{` › worker ${screen.worker}`}</Text> : null}
      {screen.kind === "cluster" ? <Text bold color="cyan">{` › cluster ${screen.cluster}`}</Text> : null}
    </Text>
  );
}
