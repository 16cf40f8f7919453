/**
 * Model hashes as the community tools define them, computed by streaming reads (bounded memory) and cached by
 * (path, size, mtimeMs): file hashes (fileHashes.ts), component content hashes (componentHashes.ts), the cache
 * (hashCache.ts).
 */
export { AUTOV3_HEADER_GUARD, autov3Start, fileHashes, LEGACY_LENGTH, LEGACY_MIN_CIVITAI, LEGACY_OFFSET, matchHash, type HashOptions } from './fileHashes';
export { cachedModelHashes, componentHashes, componentRelativeKey, modelHashes, sharedComponents, tensorRecordHeader } from './componentHashes';
export { defaultHashCachePath, HashCache } from './hashCache';
