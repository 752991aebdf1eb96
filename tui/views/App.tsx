import { Box, Text, useApp, useInput } from "ink";
import { useEffect, useReducer, useRef, useState } from "react";
import type { SnapshotSource } from "../client/source.ts";
import { keyIntent, splitKeys } from "../keys.ts";
import { computeLayout } from "../state/layout.ts";
import { droppedUpdates, initialState, reducer } from "../state/reducer.ts";
import { focusedTable, tableOf } from "../state/select.ts";
import type { State, Thresholds } from "../state/types.ts";
import { upstreamErrorRate } from "../state/warnings.ts";
import { ClusterDetail, ClustersView } from "./ClustersView.tsx";
import { ConnectionsView } from "./ConnectionsView.tsx";
import { Footer } from "./Footer.tsx";
import { Header, ViewTabs } from "./Header.tsx";
import { Help } from "./Help.tsx";
import { StatsView } from "./StatsView.tsx";
import { TasksView } from "./TasksView.tsx";
import { type TerminalSize, useTerminalSize } from "./use-terminal-size.ts";
import { WarningsPanel } from "./WarningsPanel.tsx";
import { WorkerDetail } from "./WorkerDetail.tsx";
import { WorkersView } from "./WorkersView.tsx";

/** Props of {@link App}. */
export interface AppProps {
  readonly source: SnapshotSource;
  readonly thresholds?: Thresholds;
  readonly historyLimit?: number;
  /** Fixed terminal size (tests); otherwise Ink's stdout, following resizes. */
  readonly size?: TerminalSize;
  /** Called when the user quits, after Ink was asked to exit. */
  readonly onQuit?: () => void;
}

/** Re-renders every `ms` while `active`, returning the current time (the reconnect countdown). */
function useClock(active: boolean, ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}

/** The body for the current screen. */
function Body({ state }: { readonly state: State }) {
  const layout = computeLayout(state);
  const width = layout.columns;
  const t = state.thresholds;
  const s = state.screen;
  const snapshot = state.snapshot;
  if (state.help) return <Help height={layout.body} width={width} thresholds={t} />;
  if (!snapshot) return <Text dimColor>waiting for the first snapshot…</Text>;
  const table = (id: Parameters<typeof tableOf>[1]) => tableOf(state, id)!;
  if (s.kind === "worker") {
    return (
      <WorkerDetail
        id={s.worker}
        worker={snapshot.workers.find((w) => w.id === s.worker)}
        samples={state.derived.workers[s.worker] ?? []}
        connections={table("workerConnections")}
        connectionsView={state.tables.workerConnections}
        connectionsHeight={layout.panes.workerConnections ?? 1}
        tasks={table("workerTasks")}
        tasksView={state.tables.workerTasks}
        tasksHeight={layout.panes.workerTasks ?? 1}
        pane={state.pane.worker}
        histogramHeight={layout.detail.histogram}
        width={width}
        thresholds={t}
      />
    );
  }
  if (s.kind === "cluster") {
    const cluster = snapshot.clusters.find((c) => c.name === s.cluster);
    return (
      <ClusterDetail
        name={s.cluster}
        cluster={cluster}
        errorRate={cluster ? upstreamErrorRate(cluster, state.derived.clusters[cluster.name] ?? []).rate : undefined}
        hosts={table("clusterHosts")}
        view={state.tables.clusterHosts}
        height={layout.panes.clusterHosts ?? 1}
        width={width}
        thresholds={t}
      />
    );
  }
  switch (s.view) {
    case "workers":
      return (
        <WorkersView
          table={table("workers")}
          view={state.tables.workers}
          height={layout.panes.workers ?? 1}
          width={width}
          thresholds={t}
        />
      );
    case "connections":
      return (
        <ConnectionsView
          workers={snapshot.workers}
          imbalance={state.derived.imbalance}
          connectionsTotal={snapshot.connectionsTotal}
          table={table("connections")}
          view={state.tables.connections}
          sharesLines={layout.shares.lines}
          perLine={layout.shares.perLine}
          height={layout.panes.connections ?? 1}
          width={width}
          thresholds={t}
        />
      );
    case "tasks":
      return (
        <TasksView
          tasks={table("tasks")}
          tasksView={state.tables.tasks}
          tasksHeight={layout.panes.tasks ?? 1}
          tasksTotal={snapshot.tasksTotal}
          queues={table("queues")}
          queuesView={state.tables.queues}
          queuesHeight={layout.panes.queues ?? 1}
          pane={state.pane.tasks}
          width={width}
          thresholds={t}
        />
      );
    case "stats":
      return (
        <StatsView
          table={table("stats")}
          view={state.tables.stats}
          height={layout.panes.stats ?? 1}
          width={width}
          thresholds={t}
        />
      );
    case "clusters":
      return (
        <ClustersView
          table={table("clusters")}
          view={state.tables.clusters}
          height={layout.panes.clusters ?? 1}
          width={width}
          thresholds={t}
        />
      );
  }
}

/**
 * The inspector: owns the state (useReducer), feeds it from the source, maps keys through
 * `keys.ts`, and lays the screen out to the terminal's size.
 */
export function App({ source, thresholds, historyLimit, size: fixedSize, onQuit }: AppProps) {
  const { exit } = useApp();
  const size = useTerminalSize(fixedSize);
  const [state, dispatch] = useReducer(
    reducer,
    undefined,
    () => initialState({ thresholds, historyLimit, columns: size.columns, rows: size.rows }),
  );
  const stateRef = useRef(state);
  stateRef.current = state;

  useEffect(() => {
    dispatch({ type: "resize", columns: size.columns, rows: size.rows });
  }, [size.columns, size.rows]);

  useEffect(() => source.subscribe(dispatch), [source]);

  useInput((input, key) => {
    for (const [one, press] of splitKeys(input, key)) {
      const current = stateRef.current;
      const intent = keyIntent(one, press, {
        editingFilter: current.filterEdit !== undefined,
        replay: source.kind === "replay",
      });
      if (!intent) continue;
      if (intent.kind === "quit") {
        exit();
        onQuit?.();
        return;
      }
      if (intent.kind === "source") source.control(intent.command);
      else {
        // Keep the ref current so the next key of the same batch sees this one's effect.
        stateRef.current = reducer(current, intent.action);
        dispatch(intent.action);
      }
    }
  });

  const now = useClock(state.conn?.kind === "reconnecting", 250);
  const layout = computeLayout(state);
  const focused = focusedTable(state);
  const focusedPrepared = focused ? tableOf(state, focused) : undefined;
  const filterText = focused ? state.tables[focused].filter : "";
  const warnings = state.derived.warnings;
  return (
    <Box flexDirection="column" width={layout.columns} height={layout.rows} overflow="hidden">
      <Header
        snapshot={state.snapshot}
        conn={state.conn}
        source={source.description}
        dropped={droppedUpdates(state)}
        paused={state.paused}
        held={state.held.length + state.heldSkipped}
        warnings={warnings.length}
        errors={warnings.filter((w) => w.severity === "error").length}
        now={now}
      />
      <ViewTabs screen={state.screen} />
      <Box flexDirection="column" height={layout.body} overflow="hidden">
        <Body state={state} />
      </Box>
      <Box flexDirection="column" height={layout.warnings} overflow="hidden">
        <WarningsPanel warnings={warnings} shown={layout.warningsShown} width={layout.columns} />
      </Box>
      <Footer
        width={layout.columns}
        editing={state.filterEdit ? state.tables[state.filterEdit.table].filter : undefined}
        filter={filterText && focusedPrepared
          ? { text: filterText, shown: focusedPrepared.rows.length, total: focusedPrepared.total }
          : undefined}
      />
    </Box>
  );
}
