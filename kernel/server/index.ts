/** The kernel process: message dispatch over the protocol layer. */
export { Kernel, type KernelOptions } from "./kernel.js";
export { kernelInfo, KERNEL_NAME, DISPLAY_NAME } from "./kernel-info.js";
