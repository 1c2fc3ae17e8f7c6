/**
 * Brings up WebGPU in Node for tfjs-backend-webgpu: Dawn from the optional npm package
 * `webgpu` (its dawn.node ships in the package; it drives Vulkan on Linux), installed as
 * the browser globals tfjs expects (`navigator.gpu`, GPUBufferUsage, ...). Describes the
 * adapter it finds (vendor, architecture, software or hardware), and when there is none,
 * says why: no Vulkan loader, no driver, or a driver Dawn cannot use.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (Mesa's lavapipe/llvmpipe, SwiftShader): correct, not fast. */
  software: boolean;
}

/** The subset of the WebGPU API this module reads (the `webgpu` package types it fully). */
interface Adapter {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & {
    isFallbackAdapter?: boolean;
  };
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<Adapter | null>;
}

/** tfjs-backend-webgpu asks for this one unless WEBGPU_USE_LOW_POWER_GPU is set. */
const POWER_PREFERENCE = 'high-performance';

const SOFTWARE_DEVICE = /llvmpipe|lavapipe|swiftshader|softpipe/i;

export function describeAdapter(adapter: Adapter): GpuAdapterInfo {
  const i = adapter.info ?? {};
  const info = {
    vendor: i.vendor || 'unknown vendor',
    architecture: i.architecture || 'unknown architecture',
    device: i.device ?? '',
    description: i.description ?? '',
  };
  const software =
    i.isFallbackAdapter === true ||
    info.architecture === 'software' ||
    SOFTWARE_DEVICE.test(`${info.device} ${info.description}`);
  return { ...info, software };
}

/** One line for doctor: 'NVIDIA H200 (vendor nvidia, architecture hopper), a hardware adapter'. */
export function formatAdapter(a: GpuAdapterInfo): string {
  const name = a.description || a.device || 'unnamed adapter';
  const kind = a.software ? 'a software (CPU) adapter' : 'a hardware adapter';
  return `${name} (vendor ${a.vendor}, architecture ${a.architecture}), ${kind}`;
}

let gpu: Gpu | undefined;

/** Installs Dawn's WebGPU as the globals tfjs-backend-webgpu looks for; once per process. */
async function installGlobals(): Promise<Gpu> {
  if (gpu !== undefined) return gpu;
  const dawn = (await import('webgpu')) as unknown as {
    create(flags: string[]): Gpu;
    globals: Record<string, unknown>;
  };
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true });
  }
  const created = dawn.create([]);
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', {
      value: {},
      writable: true,
      configurable: true,
    });
  }
  Object.defineProperty(g.navigator as object, 'gpu', { value: created, configurable: true });
  gpu = created;
  return gpu;
}

/** The variable naming the Vulkan driver manifests, where one does (the loader's own rule). */
function driverVariable(): 'VK_DRIVER_FILES' | 'VK_ICD_FILENAMES' | undefined {
  if (process.env.VK_DRIVER_FILES) return 'VK_DRIVER_FILES';
  if (process.env.VK_ICD_FILENAMES) return 'VK_ICD_FILENAMES';
  return undefined;
}

/** The Vulkan driver manifests the loader would read. */
function vulkanDrivers(): string[] {
  const variable = driverVariable();
  if (variable) return (process.env[variable] ?? '').split(':').filter((f) => existsSync(f));
  const dataDirs = (process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const dirs = ['/etc/vulkan/icd.d', ...dataDirs.map((d) => join(d, 'vulkan', 'icd.d'))];
  return dirs.flatMap((d) =>
    existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : [],
  );
}

/** Why Dawn found no adapter, as far as can be told from outside it. */
function noAdapterReason(): string {
  if (process.platform === 'linux') {
    try {
      process.dlopen({ exports: {} }, 'libvulkan.so.1');
    } catch (e) {
      if (/cannot open shared object/.test((e as Error).message)) {
        return 'no Vulkan loader (libvulkan.so.1; Debian: apt-get install libvulkan1)';
      }
      // Any other error means the library loaded but is not a Node addon, as expected.
    }
    if (vulkanDrivers().length === 0) {
      const named = driverVariable();
      return named
        ? `no Vulkan driver (${named} names no existing ICD manifest)`
        : 'no Vulkan driver (no ICD manifest in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d; install the GPU vendor driver, or mesa-vulkan-drivers)';
    }
  }
  return 'Dawn found no usable adapter (the Vulkan driver may be too old: Debian bookworm needs mesa-vulkan-drivers from bookworm-backports)';
}

/**
 * Installs the globals and finds the adapter tfjs-backend-webgpu will use. Throws with the
 * reason when the package is absent or there is no adapter.
 */
export async function findAdapter(): Promise<GpuAdapterInfo> {
  const g = await installGlobals();
  const adapter = await g.requestAdapter({ powerPreference: POWER_PREFERENCE });
  if (adapter === null) throw new Error(noAdapterReason());
  return describeAdapter(adapter);
}
