/**
 * The Ink component of the live view. It lays out lines computed by frame.ts: failures go to
 * <Static> (printed once, they scroll up with the terminal), the live part is redrawn in
 * place. It holds no state of its own and never reads the clock: both come in as props.
 */
import { Box, Static, Text } from 'ink';
import { type FrameOptions, failureLines, liveLines } from './frame.js';
import type { RunState, StageView } from './state.js';

export interface RunViewProps extends FrameOptions {
  state: RunState;
}

export function RunView({ state, ...opts }: RunViewProps) {
  const failed = state.failures
    .map((id) => state.stages.get(id))
    .filter((stage): stage is StageView => stage !== undefined);
  return (
    <>
      <Static items={failed}>
        {(stage) => (
          <Box key={stage.id} flexDirection="column">
            {failureLines(stage, opts).map((line, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: lines of one block never reorder
              <Text key={index}>{line}</Text>
            ))}
          </Box>
        )}
      </Static>
      <Box flexDirection="column">
        {liveLines(state, opts).map((line, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the frame is redrawn whole each time
          <Text key={index} wrap="truncate-end">
            {line}
          </Text>
        ))}
      </Box>
    </>
  );
}
