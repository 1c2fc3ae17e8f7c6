/**
 * Preloaded into a measured CLI process (`node --import`): on exit it writes the process's
 * peak resident memory (KB) to the file named by ADVROB_BENCH_RSS, so the bench learns the
 * memory of each whole command without an external `time` tool.
 */
import * as fs from 'node:fs';

const file = process.env.ADVROB_BENCH_RSS;
if (file) process.on('exit', () => fs.writeFileSync(file, String(process.resourceUsage().maxRSS)));
