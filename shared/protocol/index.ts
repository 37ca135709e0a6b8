export * from './common';
export * from './job-state';
export * from './capabilities';
export * from './job-spec';
export * from './job-result';
export * from './events';
export * from './inspection';
export * from './job';
