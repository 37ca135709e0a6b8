/** The worker's version, injected at build time from package.json (esbuild `define`). */
declare const __H2K_VERSION__: string | undefined;
export const VERSION: string = typeof __H2K_VERSION__ === 'string' ? __H2K_VERSION__ : '0.0.0-dev';
