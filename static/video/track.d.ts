// Types of track.js (plain JS, served to the browser as it is) for the Node tests.
export interface Box { x: number; y: number; width: number; height: number }
export function iou(a: Box, b: Box): number;
export const TRACK_DEFAULTS: { minIou: number; maxGap: number };
export interface Tracker { update<F extends { box: Box }>(faces: F[]): Array<F & { id: number }> }
export function createTracker(options?: { minIou?: number; maxGap?: number }): Tracker;
