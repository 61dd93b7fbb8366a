// Types of sample.js's pure part (plain JS, served to the browser as it is) for the Node tests.
export const MAX_SAMPLES: number;
export function sampleTimes(duration: number, fps: number): number[];
