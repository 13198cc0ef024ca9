/** @jsxRuntime automatic */
/** @jsxImportSource react */
// The pragmas above keep the automatic JSX runtime when tsx compiles this file
// under another project's tsconfig, or under none (`pipe run` in a user's project).

/**
 * The Ink live view. Finished instances go to `<Static>` (printed once, above
 * the live area, never redrawn); the live area below shows the per-stage
 * table, running instances and, at the end, the run summary.
 */
import { Box, Static, Text } from "ink"
import { useSyncExternalStore } from "react"
import { layoutLive, layoutStatic, type Line, type Segment } from "./layout.js"
import type { StaticEntry } from "./state.js"
import type { ViewStore } from "./store.js"

const SegmentView = ({ segment, noColor }: { segment: Segment; noColor: boolean }) => {
  if (noColor || segment.style === undefined) return <Text>{segment.text}</Text>
  switch (segment.style) {
    case "dim":
      return <Text dimColor>{segment.text}</Text>
    case "bold":
      return <Text bold>{segment.text}</Text>
    default:
      return <Text color={segment.style}>{segment.text}</Text>
  }
}

const LineView = ({ line, noColor, wrap }: { line: Line; noColor: boolean; wrap: "wrap" | "truncate-end" }) => (
  <Text wrap={wrap}>
    {line.length === 0
      ? " "
      : line.map((segment, index) => <SegmentView key={index} segment={segment} noColor={noColor} />)}
  </Text>
)

export interface LiveViewProps {
  readonly store: ViewStore
  readonly noColor: boolean
}

export const LiveView = ({ store, noColor }: LiveViewProps) => {
  const { state, names, columns, rows } = useSyncExternalStore(store.subscribe, store.getSnapshot)
  const live = layoutLive(state, names, { columns, rows })
  return (
    <>
      <Static items={state.staticEntries as Array<StaticEntry>}>
        {(entry) => (
          <Box key={entry.key} flexDirection="column">
            {layoutStatic(entry, names, columns).map((line, index) => (
              <LineView key={index} line={line} noColor={noColor} wrap="wrap" />
            ))}
          </Box>
        )}
      </Static>
      <Box flexDirection="column">
        {live.map((line, index) => (
          <LineView key={index} line={line} noColor={noColor} wrap="truncate-end" />
        ))}
      </Box>
    </>
  )
}
