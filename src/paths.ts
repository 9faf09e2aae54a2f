import { fileURLToPath } from 'node:url';

/**
 * The package root, whether this file runs from src/ (tsx) or dist/ (node):
 * both sit one level below it. Schemas and the default data folder hang off it,
 * so `npx tokenauth` works from any directory of the clone.
 */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));
export const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));
