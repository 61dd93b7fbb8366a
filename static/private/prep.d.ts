// Types of prep.js (plain JS, served to the browser as it is) for the Node tests that
// compare it with the server's pipeline. `tf` is the TF.js namespace of the caller.
import type * as tfType from '@tensorflow/tfjs';

type TF = typeof tfType;
export interface Point { x: number; y: number }
export interface Detection { x: number; y: number; width: number; height: number; score: number; rightEye?: Point; leftEye?: Point }
export interface Box { x: number; y: number; width: number; height: number }
export interface Region { box: Box; centre: Point; side: number; angle: number; score: number | null }
export interface Spec { size: number; channels: 1 | 3; normalisation: 'unit' | 'symmetric'; blur?: number }
export interface Network { model: tfType.LayersModel; run?: (x: tfType.Tensor4D) => tfType.Tensor; spec: Spec; outputsProbabilities: boolean; tta: boolean; temperature?: number }
export interface Ensemble { members: Network[] }
export type Entry = Network | Ensemble;

export const FACE_SIZE: number;
export const FACE_PIXELS: number;
export const LABELS: string[];
export const BLAZEFACE: { input: number; valuesPerAnchor: number; iou: number; minScore: number; margin: number };
export function rgbToGrey(rgb: Uint8Array): Uint8Array;
export function rgbaToRgb(rgba: Uint8Array | Uint8ClampedArray): Uint8Array;
export function blazeFaceAnchors(size?: number): Array<[number, number]>;
export function letterbox(rgb: Uint8Array, width: number, height: number, size?: number): { data: Float32Array; scale: number };
export function detectFaces(tf: TF, model: tfType.GraphModel, rgb: Uint8Array, width: number, height: number, maxFaces: number): Promise<Detection[]>;
export function rollFromEyes(rightEye: Point, leftEye: Point): number;
export function regionFromDetection(d: Detection, scale: number, photo: { width: number; height: number }, margin?: number): Region;
export function sampleRegion(src: { data: Uint8Array; width: number; height: number }, region: Region, scale: number, out: Uint8Array, offset: number): void;
export function facesToTensor(tf: TF, faces: Uint8Array | Float32Array, spec: Spec, sourceBlur?: number): tfType.Tensor4D;
export function flipFaces(faces: Uint8Array | Float32Array): Float32Array;
export function blurFaces(faces: Uint8Array | Float32Array, sigma: number): Float32Array;
export function predictFaces(tf: TF, entry: Entry, faces: Uint8Array): Float32Array[];
export function averageRows(perModel: Float32Array[][]): Float32Array[];
export function topLabel(row: Float32Array): string;
export function toScores(row: Float32Array): Record<string, number>;
export function analysePixels(tf: TF, detector: tfType.GraphModel, entry: Entry, rgb: Uint8Array, width: number, height: number, maxFaces?: number):
  Promise<Array<{ box: Box; label: string; scores: Record<string, number> }>>;
