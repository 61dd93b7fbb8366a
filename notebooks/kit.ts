/**
 * Everything the notebooks use from the project, loaded in one go.
 *
 * tslab compiles notebook cells to CommonJS, while the project is ESM
 * TypeScript; so the first cell of each notebook loads this file through
 * tsx (`require('tsx/cjs/api').require`), which brings the project's own
 * modules in exactly as `npm run ...` runs them. One entry point means one
 * copy of each module (one TF.js backend) per notebook.
 */
export { initBackend, tf } from '../src/tf/backend.js';
export { FACE_SIZE, LABELS, NUM_CLASSES } from '../src/types.js';
export { FACE_PIXELS } from '../src/inference/preprocess.js';
export { classCounts, loadDataSet, stratifiedSplit, subset, trainValSplits } from '../src/training/dataset.js';
export { DEFAULT_AUGMENT, NO_AUGMENT } from '../src/training/augment.js';
export { train } from '../src/training/trainer.js';
export { classWeights, epochOrder } from '../src/training/imbalance.js';
export { evaluateEntry, evaluateSplit, scoreFaces } from '../src/training/evaluate.js';
export { loadModelEntry } from '../src/inference/registry.js';
export { argmaxRows, confusionMatrix, metricsFromConfusion } from '../src/training/metrics.js';
export { loadTrainedModel } from '../src/artifacts/model-folder.js';
export { readCard } from '../src/artifacts/card.js';
export { compareModels, listModelFolders, mcnemarBetween } from '../src/compare/compare.js';
export { describeConfusion, lrChanges, mostConfused, reliability, rowNormalise } from '../src/compare/analysis.js';
export { barChartSvg, confusionSvg, faceGridSvg, facePng, groupedBarsSvg, lineChartSvg, reliabilitySvg, sideBySideSvg, svgPng, tableHtml } from '../src/compare/figures.js';
