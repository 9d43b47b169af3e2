/**
 * Sample-quality metrics: Inception Score, Fréchet distance, LPIPS-style diversity, teacher–student
 * agreement, class coverage and KD-loss spread, with pluggable feature / classifier networks and
 * batched evaluation. See each module's comment for the exact definitions.
 */
export * from './linalg.ts';
export * from './inception.ts';
export * from './frechet.ts';
export * from './diversity.ts';
export * from './classes.ts';
export * from './networks.ts';
export * from './batching.ts';
export * from './evaluate.ts';
