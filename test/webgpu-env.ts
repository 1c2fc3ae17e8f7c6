/**
 * Whether this machine can run the webgpu backend (Dawn on a Vulkan driver; in CI, Mesa's
 * lavapipe from bookworm-backports). Tests that need it skip, saying why, where there is
 * none; CI sets ADVROB_REQUIRE_WEBGPU=1 so that a missing driver fails the run instead.
 */
import { findAdapter } from '../src/ml/webgpu.js';

async function probe(): Promise<string | undefined> {
  try {
    await findAdapter();
    return undefined;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (process.env.ADVROB_REQUIRE_WEBGPU === '1') {
      throw new Error(`ADVROB_REQUIRE_WEBGPU=1 but webgpu cannot start: ${why}`);
    }
    console.warn(`skipping the webgpu tests: ${why}`);
    return why;
  }
}

/** Why webgpu cannot start here, or undefined when it can. */
export const webgpuUnavailable: string | undefined = await probe();
