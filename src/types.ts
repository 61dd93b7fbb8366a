/** The FER2013 constants every part of the project shares (the model card's types: artifacts/card.ts). */

/** FER2013 class order; every label array in the project uses it. */
export const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export type Label = (typeof LABELS)[number];
export const NUM_CLASSES = LABELS.length;

/** Side of a FER2013 face: every face is prepared at this size first. */
export const FACE_SIZE = 48;

export const USAGES = ['Training', 'PublicTest', 'PrivateTest'] as const;
export type Usage = (typeof USAGES)[number];
