/**
 * Typed render functions for the sharing features' templates (flag form
 * result, /flagged, /api, /share), like views.ts does for the demo page.
 */
import { createEta } from './ui-eta.js';
import type { FlagRecord } from './flagging/store.js';
import type { Label } from '../types.js';
import type { ApiOperationView } from './routes/docs.js';

export interface FlagDoneData {
  label: Label;
  page: boolean;
}

export interface FlaggedRowView extends FlagRecord {
  cropUrl: string;
  predictedPercent: string;
  createdText: string;
}
export interface FlaggedData {
  enabled: boolean;
  total: number;
  rows: FlaggedRowView[];
  counts: Array<{ label: Label; n: number }>;
  newerHref: string | null;
  olderHref: string | null;
  message?: string;
}

export interface ApiPageData {
  documentUrl: string;
  operations: ApiOperationView[];
  auth: boolean;
}

export interface ShareData {
  url: string;
  qrDataUrl: string | null;
  reachable: 'lan' | 'public' | 'loopback';
  page: boolean;
  /** The --share link's state, when the server was started with --share. */
  tunnel?: 'opening' | 'open' | 'failed';
  /** The generated login that guards a --share link. */
  login?: { username: string; password: string };
}

export interface SharingViews {
  flagDone(data: FlagDoneData): string;
  flagged(data: FlaggedData): string;
  api(data: ApiPageData): string;
  share(data: ShareData): string;
}

export function createSharingViews(): SharingViews {
  const eta = createEta();
  return {
    flagDone: (data) => eta.render('./flag-done', data),
    flagged: (data) => eta.render('./flagged', data),
    api: (data) => eta.render('./api', data),
    share: (data) => eta.render('./share', data),
  };
}
