/**
 * Starts the ML backend inside a stage process and records which one ran. The backend is
 * deliberately not part of the cache key (a cache moves from a laptop to a GPU machine), so
 * provenance is where a user finds out what computed a result (`advrob-dag why`).
 */
import type { StageContext } from '../dag/stage-kind.js';

/** A kind that starts a backend leaves these out of its key (`StageKind.runtimePackages`). */
export { ML_BACKEND_PACKAGES } from '../ml/backend-choice.js';

export async function startBackend(ctx: Pick<StageContext, 'log' | 'annotate'>): Promise<string> {
  const { initBackend } = await import('../ml/backend.js');
  const { formatAdapter } = await import('../ml/webgpu.js');
  const info = await initBackend();
  ctx.log(`backend ${info.name} (${info.package} ${info.packageVersion})`);
  ctx.annotate?.({
    backend: info.name,
    backendPackage: `${info.package}@${info.packageVersion}`,
    ...(info.wasm
      ? { wasmBinary: info.wasm.binary, nativeKernels: info.wasm.native.active ? 'yes' : 'no' }
      : {}),
    ...(info.adapter ? { gpuAdapter: formatAdapter(info.adapter) } : {}),
    ...(info.dawnPackage ? { dawnPackage: info.dawnPackage } : {}),
  });
  return info.name;
}
