// Types of csv.js (plain JS, served to the browser as it is) for the Node tests.
import type { Box } from './track.js';
export interface TimelineFace { id: number; box: Box; label: string; scores: Record<string, number> }
export interface Sample { time: number; faces: TimelineFace[] }
export const LABELS: string[];
export const CSV_COLUMNS: string[];
export function timelineRows(samples: Sample[]): string[][];
export function timelineCsv(samples: Sample[]): string;
