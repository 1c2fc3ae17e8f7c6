/**
 * The Ink component of the live view. It lays out lines computed by frame.ts: notes
 * (failures with their log tails, info messages) go to <Static>, printed once so they scroll
 * up with the terminal, as Gatsby does with finished pages; the live part is redrawn in place.
 * It holds no state of its own and never reads the clock: both come in as props.
 */
import { Box, Static, Text } from 'ink';
import { type FrameOptions, failureLines, infoLine, liveLines } from './frame.js';
import type { Note, RunState } from './state.js';

export interface RunViewProps extends FrameOptions {
  state: RunState;
}

function noteLines(note: Note, state: RunState, opts: FrameOptions): string[] {
  if (note.type === 'info') return [infoLine(note.message, opts)];
  const stage = state.stages.get(note.stageId);
  return stage ? failureLines(stage, opts) : [];
}

export function RunView({ state, ...opts }: RunViewProps) {
  return (
    <>
      <Static items={[...state.notes]}>
        {(note, index) => (
          <Box key={index} flexDirection="column">
            {noteLines(note, state, opts).map((line, lineIndex) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: lines of one note never reorder
              <Text key={lineIndex}>{line}</Text>
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
