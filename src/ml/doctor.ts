/**
 * `advrob-dag doctor`: a human-readable account of the ML backend this process gets —
 * which one is active, versions, wasm SIMD/threads, the GPU adapter, project kernels, and why each other
 * candidate is not in use. Must never change the selection: it reports what initBackend does.
 */
import { BACKEND_CHOICES, type BackendInfo, initBackend } from './backend.js';
import { formatAdapter } from './webgpu.js';

export function formatBackendReport(info: BackendInfo): string {
  const lines = [
    `ML backend: ${info.name} (${info.package}@${info.packageVersion}, tfjs-core@${info.coreVersion})`,
    `  chosen by: ${info.source === 'auto' ? 'automatic selection' : info.source === 'env' ? 'ADVROB_BACKEND' : 'caller'}` +
      ` (order: ${BACKEND_CHOICES.join(' -> ')}; override with ADVROB_BACKEND=${BACKEND_CHOICES.join('|')})`,
    `  node: ${process.version} on ${process.platform}-${process.arch}`,
  ];
  if (info.wasm !== undefined) {
    lines.push(
      `  wasm binary: ${info.wasm.binary} (SIMD ${info.wasm.simd ? 'yes' : 'no'}, threads ${info.wasm.threads})`,
      `  threads: ${info.wasm.threadsNote}`,
      `  native kernels: ${info.wasm.native.active ? 'yes' : 'no'}, ${info.wasm.native.detail}`,
    );
  }
  if (info.adapter !== undefined) lines.push(`  adapter: ${formatAdapter(info.adapter)}`);
  lines.push(
    `  project kernels: ${info.customKernels.length > 0 ? info.customKernels.join(', ') : 'none'}`,
    'candidates:',
  );
  for (const a of info.attempts) {
    lines.push(
      `  ${a.ok ? '*' : '-'} ${a.choice.padEnd(14)} ${a.package}: ${a.ok ? 'active' : a.reason}`,
    );
  }
  return lines.join('\n');
}

export async function doctor(): Promise<string> {
  return formatBackendReport(await initBackend());
}
