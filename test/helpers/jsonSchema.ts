// The JSON Schema checker lives in src/shared (readResult validates result.json with it); tests use the same one.
export { validate } from '../../src/shared/jsonSchema';
