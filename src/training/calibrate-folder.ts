/**
 * Fitting a model folder's temperature on some FER2013 rows and writing it
 * into its card.json (only that file, replaced atomically: a reader sees the
 * old card or the new one). The scores are the model's own, without the
 * card's old temperature and without test-time augmentation, so running it
 * again gives the same answer.
 */
import type { CalibrationCard, ModelCard } from '../artifacts/card.js';
import { fitTemperature, type TemperatureFit } from './calibration.js';
import type { Split } from './dataset.js';
import { scoreFaces } from './evaluate.js';
import { loadTrainedModel } from '../artifacts/model-folder.js';

export interface CalibrateResult {
  card: ModelCard;
  fit: TemperatureFit;
  calibration: CalibrationCard;
}

const round = (v: number, digits = 4) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Fits the temperature of the model in `dir` on `split`; returns the card with it (nothing written). */
export async function calibrateFolder(dir: string, split: Split, fittedOn: string): Promise<CalibrateResult> {
  const { card, model } = await loadTrainedModel(dir);
  try {
    const scores = await scoreFaces(model, card.input, split.pixels);
    const fit = fitTemperature(scores, split.labels);
    const calibration: CalibrationCard = {
      temperature: round(fit.temperature),
      ece_before: round(fit.ece_before),
      ece_after: round(fit.ece_after),
      nll_before: round(fit.nll_before),
      nll_after: round(fit.nll_after),
      fitted_on: fittedOn,
      created: new Date().toISOString(),
    };
    return { card: { ...card, calibration }, fit, calibration };
  } finally {
    model.dispose();
  }
}
