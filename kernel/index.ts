/** The Workflow Forge Jupyter kernel: public API. */
export { Kernel, type KernelOptions, kernelInfo, KERNEL_NAME, DISPLAY_NAME } from "./server/index.js";
export { installKernelspec, kernelspec, kernelsDir, type InstallOptions, type Kernelspec } from "./install.js";
export * as protocol from "./protocol/index.js";
