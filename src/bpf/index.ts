/** The typed BPF layer: objects, programs, maps, codecs, errors. */
export * from './cgroup.js';
export * from './codec.js';
export * from './errors.js';
export * from './map.js';
export * from './map-types.js';
export * from './netdev.js';
export * from './object.js';
export * from './pins.js';
export * from './port-filter.js';
export * from './program.js';
export { native, projectRoot } from './native.js';
export * from './consts.generated.js';
export * from './objects.js';
