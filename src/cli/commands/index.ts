// Every command of the CLI; main.ts dispatches to these.
export { analyzeCommand } from './analyze';
export { breakdownCommand } from './breakdown';
export { compareCommand } from './compare';
export { familyCommand } from './family';
export { hashesCommand } from './hashes';
export { healthCommand } from './health';
export { inspectCommand } from './inspect';
export { layersCommand } from './layers';
export { lineageCommand } from './lineage';
export { pairCommand } from './pair';
export { recipeCommand } from './recipe';
export { reportCommand } from './report';
export { chartsCommand } from './charts';
