/**
 * File URL helpers (node:url), kept in one place.
 *
 * @module
 */
import { fileURLToPath, pathToFileURL } from "node:url";

/** A file URL as a path. */
export const fromFileUrl = (url: URL): string => fileURLToPath(url);
/** A path as a file URL. */
export const toFileUrl = (path: string): URL => pathToFileURL(path);
